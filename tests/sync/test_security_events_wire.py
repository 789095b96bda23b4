"""The security-events wire format: round trip, and refusals that name the field."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeward.sync.errors import BatchFormatError
from edgeward.sync.security_events import (
    SecurityEvent,
    decode_security_events,
    encode_security_events,
)

WINDOW = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
EVENT = SecurityEvent("meter-9", "unknown-source", WINDOW, WINDOW, WINDOW, 12)
WHY = SecurityEvent(
    "probe-1",
    "undecodable",
    WINDOW,
    WINDOW,
    WINDOW,
    3,
    field="temperature",
    value="'warm'",
    detail="field 'temperature': 'warm' is not float",
)


def body(**changes: Any) -> bytes:
    document = json.loads(encode_security_events("gw-1a2b3c4d5e6f", [EVENT]))
    document["events"][0].update(changes)
    return json.dumps(document).encode()


def test_round_trip() -> None:
    assert decode_security_events(encode_security_events("gw-1a2b3c4d5e6f", [EVENT])) == (
        "gw-1a2b3c4d5e6f",
        [EVENT],
    )


def test_the_why_round_trips_and_is_left_out_when_absent() -> None:
    encoded = encode_security_events("gw-1a2b3c4d5e6f", [WHY, EVENT])
    with_why, without = json.loads(encoded)["events"]
    assert (with_why["field"], with_why["value"]) == ("temperature", "'warm'")
    assert not {"field", "value", "detail"} & set(without), "an old cloud sees what it knew"
    assert decode_security_events(encoded) == ("gw-1a2b3c4d5e6f", [WHY, EVENT])


def test_an_old_gateways_event_and_explicit_nulls_decode_without_why() -> None:
    (event,) = decode_security_events(body(field=None, value=None, detail=None))[1]
    assert event == EVENT and event.field is event.value is event.detail is None


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"count": 0}, "events[0].count"),
        ({"count": True}, "events[0].count"),
        ({"source": ""}, "events[0].source"),
        ({"reason": "x" * 65}, "events[0].reason"),
        ({"window_start": "yesterday"}, "events[0].window_start"),
        ({"last": "2026-11-26T06:00:00"}, "events[0].last"),
        ({"field": ""}, "events[0].field"),
        ({"field": 7}, "events[0].field"),
        ({"value": "v" * 65}, "events[0].value"),
        ({"detail": "d" * 257}, "events[0].detail"),
    ],
)
def test_bad_events_name_their_field(changes: dict[str, Any], path: str) -> None:
    with pytest.raises(BatchFormatError) as caught:
        decode_security_events(body(**changes))
    assert caught.value.path == path


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    )
)
@pytest.mark.slow
def test_any_json_is_refused_cleanly_or_decoded(document: object) -> None:
    """Garbage costs a BatchFormatError (a 422 at the cloud), never anything else."""
    with contextlib.suppress(BatchFormatError):
        decode_security_events(json.dumps(document).encode())
