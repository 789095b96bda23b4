"""The wire contract: batch format v1, acks, times, and Retry-After parsing.

Most tests are refusals: a batch the cloud half-understands must be refused
whole, with ``BatchFormatError.path`` naming the offending field.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from edgeward.sync.batch import (
    ACK_FORMAT,
    BATCH_FORMAT,
    MAX_READINGS_PER_BATCH,
    MAX_STRING_VALUE_LENGTH,
    MAX_VALUES_PER_READING,
    Batch,
    BatchAck,
    WireReading,
    decode_ack,
    decode_batch,
    encode_ack,
    encode_batch,
)
from edgeward.sync.client import parse_retry_after
from edgeward.sync.clock import format_time, from_us, to_us
from edgeward.sync.errors import BatchFormatError

# --- helpers -------------------------------------------------------------------------


def reading_doc(seq: object = 1, **overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "seq": seq,
        "source": "meter-1",
        "time": "2026-11-26T03:41:00.123456Z",
        "values": {"voltage": 230.4, "energy": 1200},
    }
    document.update(overrides)
    return document


def batch_doc(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "format": BATCH_FORMAT,
        "version": 1,
        "gateway_id": "gw-1a2b3c4d5e6f",
        "readings": [reading_doc(1), reading_doc(2)],
    }
    document.update(overrides)
    return document


def body(document: object) -> bytes:
    # json.dumps writes NaN/Infinity literals, which json.loads on the cloud accepts.
    return json.dumps(document).encode()


def without(document: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != key}


def refused(raw: bytes) -> BatchFormatError:
    with pytest.raises(BatchFormatError) as caught:
        decode_batch(raw)
    return caught.value


# --- round trip ----------------------------------------------------------------------


def test_round_trip_keeps_every_field_and_microseconds() -> None:
    batch = Batch(
        gateway_id="gw-1a2b3c4d5e6f",
        readings=(
            WireReading(
                seq=1,
                source="meter-1",
                time=datetime(2026, 11, 26, 3, 41, 0, 123456, tzinfo=UTC),
                values={"voltage": 230.4, "energy": 1200, "ok": True, "state": 'say "hi"\n'},
            ),
            WireReading(
                seq=7,
                source="meter.2:a_b-c",
                time=datetime(2026, 11, 26, 3, 41, 0, 1, tzinfo=UTC),
                values={"negative": -5, "tiny": 1e-300},
            ),
        ),
    )
    decoded = decode_batch(encode_batch(batch))
    assert decoded == batch
    assert [r.time.microsecond for r in decoded.readings] == [123456, 1]
    assert all(r.time.utcoffset() == timedelta(0) for r in decoded.readings)
    # bool stays bool and int stays int: True is not 1 and 1200 is not 1200.0.
    first = decoded.readings[0].values
    assert first["ok"] is True
    assert type(first["energy"]) is int


def test_encode_writes_utc_with_six_digit_microseconds_whatever_the_input_offset() -> None:
    plus_two = timezone(timedelta(hours=2))
    moment = datetime(2026, 11, 26, 5, 41, 0, 5, tzinfo=plus_two)
    batch = Batch("gw-1", (WireReading(1, "m", moment, {"v": 1}),))
    document = json.loads(encode_batch(batch))
    assert document["readings"][0]["time"] == "2026-11-26T03:41:00.000005Z"
    assert document["format"] == BATCH_FORMAT and document["version"] == 1
    decoded_time = decode_batch(encode_batch(batch)).readings[0].time
    assert decoded_time == moment
    assert decoded_time.utcoffset() == timedelta(0)
    assert (decoded_time.hour, decoded_time.microsecond) == (3, 5)


def test_decode_converts_offset_times_to_utc() -> None:
    document = batch_doc(readings=[reading_doc(time="2026-11-26T05:41:00.5+02:00")])
    moment = decode_batch(body(document)).readings[0].time
    assert moment == datetime(2026, 11, 26, 3, 41, 0, 500000, tzinfo=UTC)
    assert moment.utcoffset() == timedelta(0)


def test_encode_refuses_non_finite_values() -> None:
    batch = Batch("gw-1", (WireReading(1, "m", datetime.now(UTC), {"v": float("nan")}),))
    with pytest.raises(ValueError):
        encode_batch(batch)


def test_limits_themselves_are_accepted() -> None:
    values: dict[str, object] = {f"v{i}": i for i in range(MAX_VALUES_PER_READING)}
    values["v0"] = "x" * MAX_STRING_VALUE_LENGTH
    readings = [reading_doc(seq, values=values if seq == 1 else {"v": 1}) for seq in (1, 2)]
    decoded = decode_batch(body(batch_doc(readings=readings)))
    assert len(decoded.readings[0].values) == MAX_VALUES_PER_READING
    many = [reading_doc(seq) for seq in range(1, MAX_READINGS_PER_BATCH + 1)]
    assert len(decode_batch(body(batch_doc(readings=many))).readings) == MAX_READINGS_PER_BATCH
    largest = decode_batch(body(batch_doc(readings=[reading_doc(2**63 - 1)])))
    assert largest.readings[0].seq == 2**63 - 1


# --- clock ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(2026, 11, 26, 3, 41, 0, 999999, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 1, tzinfo=UTC),
        datetime(2038, 1, 19, 3, 14, 8, 123, tzinfo=UTC),
    ],
)
def test_microsecond_round_trip_is_exact(moment: datetime) -> None:
    assert from_us(to_us(moment)) == moment
    assert from_us(to_us(moment)).utcoffset() == timedelta(0)


def test_to_us_counts_microseconds_since_the_epoch() -> None:
    assert to_us(datetime(1970, 1, 1, 0, 0, 1, 1, tzinfo=UTC)) == 1_000_001
    assert to_us(datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)) == -1


def test_naive_times_are_refused_by_the_clock() -> None:
    naive = datetime(2026, 11, 26, 3, 41)
    with pytest.raises(ValueError):
        to_us(naive)
    with pytest.raises(ValueError):
        format_time(naive)


# --- decode_batch refusals -----------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        pytest.param(b"{not json", "", id="invalid-json"),
        pytest.param(b"", "", id="empty-body"),
        pytest.param(b'\xff{"format": 1}', "", id="invalid-utf8"),
        pytest.param(b"[]", "", id="array-not-object"),
        pytest.param(b'"edgeward.batch"', "", id="string-not-object"),
        pytest.param(b"null", "", id="null-not-object"),
    ],
)
def test_documents_that_are_not_json_objects_are_refused(raw: bytes, path: str) -> None:
    assert refused(raw).path == path


def batch_case(mutate: Callable[[dict[str, Any]], object], path: str, id: str) -> Any:
    document = batch_doc()
    replaced = mutate(document)
    return pytest.param(replaced if replaced is not None else document, path, id=id)


def set_key(key: str, value: object) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        document[key] = value

    return mutate


def drop_key(key: str) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        del document[key]

    return mutate


@pytest.mark.parametrize(
    ("document", "path"),
    [
        batch_case(set_key("format", "edgeward.ack"), "format", "format-ack"),
        batch_case(set_key("format", "Edgeward.Batch"), "format", "format-case"),
        batch_case(drop_key("format"), "format", "format-absent"),
        batch_case(set_key("version", 2), "version", "version-2"),
        batch_case(set_key("version", 0), "version", "version-0"),
        batch_case(set_key("version", "1"), "version", "version-string"),
        batch_case(set_key("version", 1.0), "version", "version-float"),
        batch_case(set_key("version", True), "version", "version-bool-true"),
        batch_case(set_key("version", None), "version", "version-null"),
        batch_case(drop_key("version"), "version", "version-absent"),
        batch_case(drop_key("gateway_id"), "gateway_id", "gateway-id-absent"),
        batch_case(set_key("gateway_id", ""), "gateway_id", "gateway-id-empty"),
        batch_case(set_key("gateway_id", "gw 1"), "gateway_id", "gateway-id-space"),
        batch_case(set_key("gateway_id", "-gw"), "gateway_id", "gateway-id-leading-dash"),
        batch_case(set_key("gateway_id", "g" * 129), "gateway_id", "gateway-id-129-chars"),
        batch_case(set_key("gateway_id", 12), "gateway_id", "gateway-id-number"),
        batch_case(set_key("gateway_id", "gw-1\n"), "gateway_id", "gateway-id-trailing-newline"),
        batch_case(drop_key("readings"), "readings", "readings-absent"),
        batch_case(set_key("readings", None), "readings", "readings-null"),
        batch_case(set_key("readings", {"seq": 1}), "readings", "readings-object"),
        batch_case(set_key("readings", []), "readings", "readings-empty"),
        batch_case(
            set_key("readings", [reading_doc(s) for s in range(1, MAX_READINGS_PER_BATCH + 2)]),
            "readings",
            "readings-over-the-limit",
        ),
    ],
)
def test_batch_header_refusals_name_the_field(document: dict[str, Any], path: str) -> None:
    error = refused(body(document))
    assert error.path == path
    assert error.message
    assert str(error).startswith(f"{path}: ")


def readings_case(readings: list[object], path: str, id: str) -> Any:
    return pytest.param(readings, path, id=id)


@pytest.mark.parametrize(
    ("readings", "path"),
    [
        readings_case([reading_doc(1), "reading"], "readings[1]", "reading-not-object"),
        readings_case([reading_doc(1), None], "readings[1]", "reading-null"),
        # seq
        readings_case([without(reading_doc(), "seq")], "readings[0].seq", "seq-absent"),
        readings_case([reading_doc("1")], "readings[0].seq", "seq-string"),
        readings_case([reading_doc(1.0)], "readings[0].seq", "seq-float"),
        readings_case([reading_doc(True)], "readings[0].seq", "seq-bool-true"),
        readings_case([reading_doc(0)], "readings[0].seq", "seq-zero"),
        readings_case([reading_doc(-1)], "readings[0].seq", "seq-negative"),
        readings_case([reading_doc(2**63)], "readings[0].seq", "seq-over-63-bits"),
        readings_case([reading_doc(5), reading_doc(5)], "readings[1].seq", "seq-repeated"),
        readings_case([reading_doc(5), reading_doc(4)], "readings[1].seq", "seq-decreasing"),
        readings_case(
            [reading_doc(1), reading_doc(3), reading_doc(2)], "readings[2].seq", "seq-late-drop"
        ),
        # source
        readings_case([without(reading_doc(), "source")], "readings[0].source", "source-absent"),
        readings_case([reading_doc(source="")], "readings[0].source", "source-empty"),
        readings_case([reading_doc(source="meter 1")], "readings[0].source", "source-space"),
        readings_case([reading_doc(source="meter/1")], "readings[0].source", "source-slash"),
        readings_case([reading_doc(source="_meter")], "readings[0].source", "source-leading-_"),
        readings_case([reading_doc(source="m" * 129)], "readings[0].source", "source-129-chars"),
        readings_case([reading_doc(source=1)], "readings[0].source", "source-number"),
        readings_case(
            [reading_doc(source="meter-1\n")], "readings[0].source", "source-trailing-newline"
        ),
        # time
        readings_case([without(reading_doc(), "time")], "readings[0].time", "time-absent"),
        readings_case([reading_doc(time=1764128460)], "readings[0].time", "time-number"),
        readings_case([reading_doc(time="yesterday")], "readings[0].time", "time-words"),
        readings_case([reading_doc(time="")], "readings[0].time", "time-empty"),
        readings_case(
            [reading_doc(time="2026-11-26T03:41:00.123456")], "readings[0].time", "time-naive"
        ),
        readings_case([reading_doc(time="2026-11-26")], "readings[0].time", "time-date-only"),
        readings_case(
            [reading_doc(time="2026-13-26T03:41:00Z")], "readings[0].time", "time-month-13"
        ),
        readings_case(
            [reading_doc(time="20261126T034100Z")], "readings[0].time", "time-iso-basic-format"
        ),
        readings_case(
            [reading_doc(time="2026-W48-4T03:41:00Z")], "readings[0].time", "time-iso-week-date"
        ),
        # values
        readings_case([without(reading_doc(), "values")], "readings[0].values", "values-absent"),
        readings_case([reading_doc(values={})], "readings[0].values", "values-empty"),
        readings_case([reading_doc(values=[1, 2])], "readings[0].values", "values-list"),
        readings_case([reading_doc(values="v=1")], "readings[0].values", "values-string"),
        readings_case(
            [reading_doc(values={f"v{i}": i for i in range(MAX_VALUES_PER_READING + 1)})],
            "readings[0].values",
            "values-over-the-limit",
        ),
        readings_case(
            [reading_doc(values={"v": float("nan")})], "readings[0].values.v", "value-nan"
        ),
        readings_case(
            [reading_doc(values={"v": float("inf")})], "readings[0].values.v", "value-infinity"
        ),
        readings_case(
            [reading_doc(values={"ok": 1, "v": float("-inf")})],
            "readings[0].values.v",
            "value-minus-infinity",
        ),
        readings_case(
            [reading_doc(values={"v": {"nested": 1}})], "readings[0].values.v", "value-object"
        ),
        readings_case([reading_doc(values={"v": [1, 2]})], "readings[0].values.v", "value-list"),
        readings_case([reading_doc(values={"v": None})], "readings[0].values.v", "value-null"),
        readings_case(
            [reading_doc(values={"v": "x" * (MAX_STRING_VALUE_LENGTH + 1)})],
            "readings[0].values.v",
            "value-string-too-long",
        ),
        readings_case(
            [reading_doc(values={"bad name": 1})],
            "readings[0].values.bad name",
            "value-name-space",
        ),
        readings_case([reading_doc(values={"": 1})], "readings[0].values.", "value-name-empty"),
        readings_case(
            [reading_doc(values={"v" * 129: 1})],
            "readings[0].values." + "v" * 129,
            "value-name-129-chars",
        ),
        readings_case(
            [reading_doc(values={"v\n": 1})], "readings[0].values.v\n", "value-name-newline"
        ),
        readings_case(
            [reading_doc(1), reading_doc(2, values={"v": float("nan")})],
            "readings[1].values.v",
            "second-reading-names-its-index",
        ),
    ],
)
def test_reading_refusals_name_the_field(readings: list[object], path: str) -> None:
    assert refused(body(batch_doc(readings=readings))).path == path


def test_non_finite_literals_json_accepts_are_refused() -> None:
    # json.loads parses these bare literals into floats; the decoder must not.
    for literal in ("NaN", "Infinity", "-Infinity"):
        raw = (
            '{"format":"edgeward.batch","version":1,"gateway_id":"gw-1","readings":'
            '[{"seq":1,"source":"m","time":"2026-11-26T03:41:00Z","values":{"v":' + literal + "}}]}"
        ).encode()
        assert refused(raw).path == "readings[0].values.v", literal


def test_a_refused_reading_refuses_the_whole_batch() -> None:
    readings = [reading_doc(1), reading_doc(2), reading_doc(3, values={})]
    assert refused(body(batch_doc(readings=readings))).path == "readings[2].values"


# --- acks ----------------------------------------------------------------------------


def ack_doc(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "format": ACK_FORMAT,
        "version": 1,
        "gateway_id": "gw-1",
        "stored": 3,
        "duplicates": 2,
        "highest_seq": 41,
    }
    document.update(overrides)
    return document


def test_ack_round_trip() -> None:
    ack = BatchAck(gateway_id="gw-1", stored=3, duplicates=2, highest_seq=41)
    decoded = decode_ack(json.dumps(encode_ack(ack)).encode())
    assert decoded == ack
    assert decoded.acknowledged == 5


@pytest.mark.parametrize("name", ["stored", "duplicates", "highest_seq"])
@pytest.mark.parametrize("value", [-1, -(2**40), True, 1.0, "3", None])
def test_ack_counts_must_be_non_negative_integers(name: str, value: object) -> None:
    with pytest.raises(BatchFormatError) as caught:
        decode_ack(body(ack_doc(**{name: value})))
    assert caught.value.path == name


@pytest.mark.parametrize("name", ["stored", "duplicates", "highest_seq"])
def test_ack_counts_must_be_present(name: str) -> None:
    with pytest.raises(BatchFormatError) as caught:
        decode_ack(body(without(ack_doc(), name)))
    assert caught.value.path == name


@pytest.mark.parametrize(
    ("document", "path"),
    [
        pytest.param(ack_doc(format=BATCH_FORMAT), "format", id="batch-format"),
        pytest.param(ack_doc(version=2), "version", id="version-2"),
        pytest.param(ack_doc(version=True), "version", id="version-true"),
        pytest.param(ack_doc(gateway_id="gw 1"), "gateway_id", id="bad-gateway-id"),
        pytest.param([], "", id="not-object"),
    ],
)
def test_ack_header_refusals(document: object, path: str) -> None:
    with pytest.raises(BatchFormatError) as caught:
        decode_ack(body(document))
    assert caught.value.path == path


def test_ack_that_is_not_json_is_refused() -> None:
    with pytest.raises(BatchFormatError) as caught:
        decode_ack(b"<html>502 Bad Gateway</html>")
    assert caught.value.path == ""


# --- Retry-After ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("0", 0.0), ("1", 1.0), ("120", 120.0), ("2.5", 2.5)],
)
def test_retry_after_seconds(header: str, seconds: float) -> None:
    assert parse_retry_after(header) == seconds


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "soon",
        "-1",
        "-0.5",
        "Wed, 21 Oct 2015 07:28:00 GMT",  # HTTP-date form: ignored, the backoff applies
        "nan",
        # Not delay-seconds (RFC 9110 §10.2.3): waiting "inf" seconds stalls the uplink forever.
        "inf",
        "Infinity",
    ],
)
def test_retry_after_without_usable_seconds_is_none(header: str | None) -> None:
    assert parse_retry_after(header) is None
