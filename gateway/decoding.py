"""Decoders for frames that carry text: delimited fields (serial) and JSON (MQTT).

A driver hands up raw bytes; a decoder turns one source's frame into named
values, or raises :class:`~edgeward.drivers.errors.DeviceProtocolError`,
which the coordinator counts as malformed for that source and moves on.
Register maps (Modbus) are decoders of the same shape.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass

from edgeward.drivers.errors import DeviceProtocolError

Value = bool | int | float | str


class FieldType(enum.StrEnum):
    INT = "int"
    FLOAT = "float"
    STR = "str"
    BOOL = "bool"


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
        raise DeviceProtocolError(f"field {name!r}: {text!r} is not {kind}") from exc
    if kind is FieldType.BOOL:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise DeviceProtocolError(f"field {name!r}: {text!r} is not a boolean")
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
            raise DeviceProtocolError(f"frame is not UTF-8 text: {exc}") from exc
        parts = text.split(self.separator)
        if len(parts) != len(self.fields):
            raise DeviceProtocolError(
                f"frame has {len(parts)} fields, the field spec {len(self.fields)}"
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
            raise DeviceProtocolError(f"payload is not JSON: {exc}") from exc
        return {f.name: self._field(document, f) for f in self.fields}

    @staticmethod
    def _field(document: object, field: TextField) -> Value:
        path = field.path or field.name
        value = document
        for step in path.split("."):
            if not isinstance(value, dict) or step not in value:
                raise DeviceProtocolError(f"field {field.name!r}: no {path!r} in the payload")
            value = value[step]
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
            raise DeviceProtocolError(f"field {field.name!r}: {value!r} is not {field.type}")
        if field.type is FieldType.FLOAT:
            return float(value)  # type: ignore[arg-type]
        return value  # type: ignore[return-value]
