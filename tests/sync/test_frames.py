"""Text decoders: exact values from good frames, an undecodable refusal for every bad one."""

from __future__ import annotations

import pytest

from edgeward.sync.frames import (
    DelimitedDecoder,
    FieldType,
    JsonDecoder,
    TextField,
    normalize_uuid,
)
from edgeward.sync.reports import ReportRejected

SPEC = (
    TextField("counter", FieldType.INT),
    TextField("temperature", FieldType.FLOAT),
    TextField("label", FieldType.STR),
    TextField("alarm", FieldType.BOOL),
)


def test_delimited_fields_by_position() -> None:
    decoder = DelimitedDecoder(SPEC, ";")
    assert decoder.decode(b"7; 21.5;north;on") == {
        "counter": 7,
        "temperature": 21.5,
        "label": "north",
        "alarm": True,
    }


@pytest.mark.parametrize(
    "frame",
    [
        b"7;21.5;north",
        b"7;21.5;north;on;extra",
        b"x;21.5;n;on",
        b"7;nan;n;on",
        b"7;1;n;maybe",
        b"\xff;1;n;on",
    ],
)
def test_delimited_bad_frames_are_undecodable(frame: bytes) -> None:
    with pytest.raises(ReportRejected, match=r"^undecodable: "):
        DelimitedDecoder(SPEC, ";").decode(frame)


def test_json_fields_by_dotted_path_with_types() -> None:
    decoder = JsonDecoder(
        (
            TextField("t", FieldType.FLOAT, "sensor.temperature"),
            TextField("n", FieldType.INT, "counter"),
            TextField("ok", FieldType.BOOL),
        )
    )
    frame = b'{"sensor": {"temperature": 21}, "counter": 3, "ok": false, "other": 1}'
    values = decoder.decode(frame)
    assert values == {"t": 21.0, "n": 3, "ok": False}
    assert isinstance(values["t"], float)


@pytest.mark.parametrize(
    ("field", "frame"),
    [
        (TextField("n", FieldType.INT), b"{not json"),
        (TextField("n", FieldType.INT), b"[1, 2]"),
        (TextField("n", FieldType.INT), b'{"m": 1}'),
        (TextField("n", FieldType.INT), b'{"n": true}'),
        (TextField("n", FieldType.INT), b'{"n": 1.5}'),
        (TextField("n", FieldType.BOOL), b'{"n": 1}'),
        (TextField("n", FieldType.STR), b'{"n": 1}'),
        (TextField("n", FieldType.FLOAT, "a.b"), b'{"a": 5}'),
    ],
)
def test_json_missing_or_mistyped_fields_are_undecodable(field: TextField, frame: bytes) -> None:
    with pytest.raises(ReportRejected, match=r"^undecodable: "):
        JsonDecoder((field,)).decode(frame)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2A6E", "00002a6e-0000-1000-8000-00805f9b34fb"),
        ("12345678", "12345678-0000-1000-8000-00805f9b34fb"),
        ("0000181A-0000-1000-8000-00805F9B34FB", "0000181a-0000-1000-8000-00805f9b34fb"),
    ],
)
def test_uuids_normalize_to_the_128_bit_form_the_ble_driver_names(
    given: str, expected: str
) -> None:
    assert normalize_uuid(given) == expected


def test_a_uuid_that_is_none_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        normalize_uuid("not-a-uuid")
