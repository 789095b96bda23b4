"""The frame decoders: delimited text (serial), JSON (MQTT), fixed binary layouts (BLE).

The one implementation of each, in the shared contract because both sides
decode: the gateway every report it admits, the cloud the reports sealed for
it alone. :mod:`edgeward.sync.type_decoders` builds them from the registry's
data-source type specs. A decoder turns one source's frame into named values
or raises :class:`~edgeward.sync.reports.ReportRejected` with reason
``undecodable``, never anything else, so admission counts garbage for the
source and moves on. Register maps (Modbus, decoded on the gateway alone by
:mod:`edgeward.gateway.admission.decoders`) are decoders of the same shape.
"""

from __future__ import annotations

import enum
import json
import math
import struct
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from edgeward.sync.reports import ReportRejected, render_value

Value = bool | int | float | str


def undecodable(message: str, *, field: str | None = None, value: object = None) -> ReportRejected:
    """The refusal of a frame; ``field`` and ``value`` where one field is at fault."""
    return ReportRejected("undecodable", message, field=field, value=value)


class FieldType(enum.StrEnum):
    INT = "int"
    FLOAT = "float"
    STR = "str"
    BOOL = "bool"
    # Any JSON scalar (a registry MQTT type names keys, not types); numbers stay finite.
    SCALAR = "scalar"


_TRUE = {"1", "true", "on", "yes"}
_FALSE = {"0", "false", "off", "no"}


def _from_text(name: str, kind: FieldType, text: str) -> Value:
    text = text.strip()
    try:
        if kind is FieldType.INT:
            return int(text)
        if kind is FieldType.FLOAT:
            number = float(text)
            if not math.isfinite(number):
                raise ValueError(text)
            return number
    except ValueError as exc:
        shown = render_value(text)
        raise undecodable(f"field {name!r}: {shown} is not {kind}", field=name, value=text) from exc
    if kind is FieldType.BOOL:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        shown = render_value(text)
        raise undecodable(f"field {name!r}: {shown} is not a boolean", field=name, value=text)
    return text


@dataclass(frozen=True, slots=True)
class TextField:
    name: str
    type: FieldType = FieldType.FLOAT
    # JSON only: where the value sits, dotted through nested objects; default: name.
    path: str | None = None


class DelimitedDecoder:
    """``21.5,40`` with fields (temperature, humidity): one value per position, all present."""

    def __init__(self, fields: tuple[TextField, ...], separator: str = ",") -> None:
        self.fields = fields
        self.separator = separator

    def decode(self, frame: bytes) -> Mapping[str, Value]:
        try:
            text = frame.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise undecodable(f"frame is not UTF-8 text: {exc}") from exc
        parts = text.split(self.separator)
        if len(parts) != len(self.fields):
            # Too few: the first field without a value is the one at fault. Too many
            # names none, and no part is shown: together they are the report whole.
            missing = self.fields[len(parts)].name if len(parts) < len(self.fields) else None
            raise undecodable(
                f"frame has {len(parts)} fields, the field spec {len(self.fields)}", field=missing
            )
        return {
            f.name: _from_text(f.name, f.type, part)
            for f, part in zip(self.fields, parts, strict=True)
        }


class JsonDecoder:
    """A JSON object; each field is read at its dotted path and must have its type."""

    def __init__(self, fields: tuple[TextField, ...]) -> None:
        self.fields = fields

    def decode(self, frame: bytes) -> Mapping[str, Value]:
        try:
            document = json.loads(frame)
        except (UnicodeDecodeError, ValueError) as exc:
            raise undecodable(f"payload is not JSON: {exc}") from exc
        return {f.name: self._field(document, f) for f in self.fields}

    @staticmethod
    def _field(document: object, field: TextField) -> Value:
        path = field.path or field.name
        value = document
        for step in path.split("."):
            if not isinstance(value, dict) or step not in value:
                raise undecodable(
                    f"field {field.name!r}: no {path!r} in the payload", field=field.name
                )
            value = value[step]
        if field.type is FieldType.SCALAR:
            return _scalar(field.name, value)
        expected: dict[FieldType, tuple[type, ...]] = {
            FieldType.INT: (int,),
            FieldType.FLOAT: (int, float),
            FieldType.STR: (str,),
            FieldType.BOOL: (bool,),
        }
        # bool is an int subclass: true must not pass as 1.
        if isinstance(value, bool) is not (field.type is FieldType.BOOL) or not isinstance(
            value, expected[field.type]
        ):
            shown = render_value(value)
            raise undecodable(
                f"field {field.name!r}: {shown} is not {field.type}", field=field.name, value=value
            )
        if field.type is FieldType.FLOAT:
            try:
                number = float(value)  # type: ignore[arg-type]
            except OverflowError as exc:  # an integer no float can hold
                raise undecodable(
                    f"field {field.name!r}: too large", field=field.name, value=value
                ) from exc
            # json.loads takes NaN and Infinity; the wire contract does not.
            if not math.isfinite(number):
                raise undecodable(
                    f"field {field.name!r}: {number} is not a number",
                    field=field.name,
                    value=number,
                )
            return number
        return value  # type: ignore[return-value]


def _scalar(name: str, value: object) -> Value:
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError as exc:
            raise undecodable(f"field {name!r}: too large", field=name, value=value) from exc
        if not math.isfinite(number):
            raise undecodable(f"field {name!r}: {number} is not a number", field=name, value=number)
        return value
    shown = render_value(value)
    raise undecodable(f"field {name!r}: {shown} is not a scalar", field=name, value=value)


class BinaryType(enum.StrEnum):
    """Little-endian, as the Bluetooth core specification's characteristic formats are."""

    INT8 = "int8"
    UINT8 = "uint8"
    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    BOOL = "bool"


_BINARY_STRUCT = {
    BinaryType.INT8: "<b",
    BinaryType.UINT8: "<B",
    BinaryType.INT16: "<h",
    BinaryType.UINT16: "<H",
    BinaryType.INT32: "<i",
    BinaryType.UINT32: "<I",
    BinaryType.FLOAT32: "<f",
    BinaryType.FLOAT64: "<d",
    BinaryType.BOOL: "<?",
}


@dataclass(frozen=True, slots=True)
class BinaryField:
    """A number at ``offset`` in a binary frame; ``value = raw * scale`` (0.01: hundredths)."""

    name: str
    offset: int
    type: BinaryType
    scale: float = 1.0

    @property
    def end(self) -> int:
        return self.offset + struct.calcsize(_BINARY_STRUCT[self.type])


class BinaryLayoutDecoder:
    """Fixed-layout binary frames, such as GATT characteristic values."""

    def __init__(self, fields: tuple[BinaryField, ...]) -> None:
        self.fields = fields
        self.length = max(field.end for field in fields)

    def decode(self, frame: bytes) -> Mapping[str, Value]:
        if len(frame) < self.length:
            # The first field the frame ends inside of is the one at fault.
            short = next(f.name for f in self.fields if f.end > len(frame))
            raise undecodable(
                f"frame has {len(frame)} bytes, the layout needs {self.length}", field=short
            )
        values: dict[str, Value] = {}
        for field in self.fields:
            (raw,) = struct.unpack_from(_BINARY_STRUCT[field.type], frame, field.offset)
            value: int | float = raw
            if field.type is BinaryType.BOOL:
                values[field.name] = bool(raw)
                continue
            if field.scale != 1.0:
                # Fixed point: round to the decimals the scale carries (0.01 -> 2).
                decimals = max(0, -math.floor(math.log10(abs(field.scale)))) if field.scale else 0
                value = round(raw * field.scale, decimals)
            if isinstance(value, float) and not math.isfinite(value):
                raise undecodable(
                    f"field {field.name!r} is not a number", field=field.name, value=value
                )
            values[field.name] = value
        return values


# Bluetooth Core Specification 5.4, Vol 3, Part B, 2.5.1: the base UUID that
# 16- and 32-bit SIG-assigned UUIDs are short forms of.
_BLUETOOTH_BASE = "-0000-1000-8000-00805f9b34fb"


def normalize_uuid(value: str) -> str:
    """128-bit lowercase, as BlueZ and the BLE driver name UUIDs; ``"2a6e"`` is accepted.

    Raises ValueError for anything that is not a UUID.
    """
    if len(value) == 4:
        value = f"0000{value}{_BLUETOOTH_BASE}"
    elif len(value) == 8:
        value = f"{value}{_BLUETOOTH_BASE}"
    return str(uuid.UUID(value))
