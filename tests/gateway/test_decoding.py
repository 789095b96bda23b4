"""Text decoders: exact values from good frames, a DeviceProtocolError for every bad one."""

from __future__ import annotations

import pytest

from edgeward.drivers.errors import DeviceProtocolError
from edgeward.gateway.decoding import DelimitedDecoder, FieldType, JsonDecoder, TextField

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
def test_delimited_bad_frames_are_protocol_errors(frame: bytes) -> None:
    with pytest.raises(DeviceProtocolError):
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
def test_json_missing_or_mistyped_fields_are_protocol_errors(
    field: TextField, frame: bytes
) -> None:
    with pytest.raises(DeviceProtocolError):
        JsonDecoder((field,)).decode(frame)
