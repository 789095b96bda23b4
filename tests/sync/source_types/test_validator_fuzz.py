"""The type validator and every built-in type's decoder on arbitrary input: clean refusals only."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgeward.sync.errors import SpecError
from edgeward.sync.reports import FrameIgnored, ReportRejected
from edgeward.sync.source_types import parse_type_spec
from edgeward.sync.source_types.builtin import BUILTIN
from edgeward.sync.source_types.checks import validate_type_spec
from edgeward.sync.source_types.decoders import build_decoder

REFUSAL_REASONS = {"checksum", "undecodable", "out-of-range"}
KEYS = [
    "transport",
    "auth_mode",
    "sealed_for",
    "decoder",
    "fields",
    "examples",
    "registers",
    "characteristics",
    "layout",
    "framing",
    "format",
    "records",
    "checksum",
    "name",
    "type",
    "address",
    "order",
    "uuid",
    "at",
    "kind",
    "pattern",
    "tag",
    "values",
    "hex",
    "text",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-70_000, 70_000),
    st.floats(allow_nan=True),
    st.sampled_from(
        [
            "modbus",
            "serial",
            "ble",
            "mqtt",
            "bound",
            "hmac",
            "float32",
            "2a6e",
            "ABCD",
            "CDAB",
            "line",
            "block",
            "json",
            "regex",
            "(",
            "^x$",
            "00ff",
        ]
    ),
    st.text(max_size=8),
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=6),
    ),
    max_leaves=30,
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(DOCUMENTS)
def test_any_document_is_a_type_or_a_spec_error_naming_where(document: Any) -> None:
    try:
        validate_type_spec(document if isinstance(document, dict) else {"decoder": document})
    except SpecError as refusal:
        assert isinstance(refusal.path, str) and refusal.message


@settings(max_examples=300)
@given(st.sampled_from(sorted(BUILTIN)), st.binary(max_size=300), st.text(max_size=60))
def test_built_in_decoders_refuse_garbage_cleanly(type_id: str, raw: bytes, uuid: str) -> None:
    decode = build_decoder(parse_type_spec(BUILTIN[type_id][1]))
    for origin in ("", f"ble://00:00:00:00:00:01/{uuid}", "ble://x/2a6e"):
        try:
            values = decode(raw, origin)
        except ReportRejected as refusal:
            assert refusal.reason in REFUSAL_REASONS, refusal
            continue
        except FrameIgnored:
            continue  # a record kind the type passes over on purpose (NMEA's $GPTXT)
        # NaN and infinity are refused by the decoders (admission checks only bounds).
        assert all(math.isfinite(v) for v in values.values() if isinstance(v, float)), values
