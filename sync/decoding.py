"""Decoders built from data-source type specs (edgeward.sync.registry): MQTT JSON, serial
text frames and BLE characteristic layouts, and the range check every decoded value passes.

Both sides decode: the gateway every report it admits, the cloud the reports
sealed for it alone, so the pure decoding lives in the shared contract. A
decoder turns a report's payload into named values; it raises
:class:`~edgeward.sync.reports.ReportRejected` with reason ``undecodable`` on
anything it can't read, and never anything else, so admission counts garbage
instead of dying on it. Modbus register maps decode on the gateway alone
(``edgeward.gateway.decoders``): a meter on a bus can't seal its reports.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable, Mapping
from typing import Any

from edgeward.sync.reports import ReportRejected

Value = bool | int | float | str
Decoder = Callable[[bytes, str], dict[str, Value]]

# BLE characteristic layouts are little-endian, as the Bluetooth core spec's formats are.
_BLE_STRUCT = {
    "int16": "<h",
    "uint16": "<H",
    "int32": "<i",
    "uint32": "<I",
    "float32": "<f",
    "float64": "<d",
    "bool": "<?",
}


def undecodable(message: str) -> ReportRejected:
    return ReportRejected("undecodable", message)


def mqtt_decoder(spec: Mapping[str, Any]) -> Decoder:
    keys: Mapping[str, str] = spec["fields"]

    def decode(payload: bytes, origin: str) -> dict[str, Value]:
        try:
            document = json.loads(payload)
        except (UnicodeDecodeError, ValueError) as exc:
            raise undecodable("the payload is not JSON") from exc
        if not isinstance(document, dict):
            raise undecodable("the payload is not a JSON object")
        values: dict[str, Value] = {}
        for name, key in keys.items():
            value = document.get(key)
            if not isinstance(value, bool | int | float | str):
                raise undecodable(f"field {key!r} is missing or not a scalar")
            values[name] = value
        return values

    return decode


def serial_decoder(spec: Mapping[str, Any]) -> Decoder:
    names: list[str] = spec["fields"]
    separator: str = spec.get("separator", ",")

    def decode(payload: bytes, origin: str) -> dict[str, Value]:
        try:
            parts = payload.decode("ascii").strip().split(separator)
        except UnicodeDecodeError as exc:
            raise undecodable("the frame is not ASCII text") from exc
        if len(parts) != len(names):
            raise undecodable(f"expected {len(names)} fields, found {len(parts)}")
        values: dict[str, Value] = {}
        for name, part in zip(names, parts, strict=True):
            try:
                number = float(part)
            except ValueError as exc:
                raise undecodable(f"field {name!r} is not a number: {part[:20]!r}") from exc
            values[name] = int(number) if number.is_integer() and "." not in part else number
        return values

    return decode


def ble_decoder(spec: Mapping[str, Any]) -> Decoder:
    layouts = {c["uuid"].lower(): c["layout"] for c in spec["characteristics"]}

    def decode(payload: bytes, origin: str) -> dict[str, Value]:
        uuid = origin.rsplit("/", 1)[-1].lower()
        layout = next((lay for key, lay in layouts.items() if uuid.endswith(key)), None)
        if layout is None:
            raise undecodable(f"no layout for characteristic {uuid}")
        values: dict[str, Value] = {}
        for part in layout:
            code = _BLE_STRUCT.get(part["type"])
            if code is None or part["offset"] + struct.calcsize(code) > len(payload):
                raise undecodable(f"field {part['name']!r} lies beyond {len(payload)} bytes")
            (value,) = struct.unpack_from(code, payload, part["offset"])
            values[part["name"]] = value * part.get("scale", 1) if "scale" in part else value
        return values

    return decode


BUILDERS: dict[str, Callable[[Mapping[str, Any]], Decoder]] = {
    "mqtt": mqtt_decoder,
    "serial": serial_decoder,
    "ble": ble_decoder,
}


def build(transport: str, decoder_spec: Mapping[str, Any]) -> Decoder:
    """The decoder of a type; raises ``undecodable`` for a transport decoded elsewhere."""
    builder = BUILDERS.get(transport)
    if builder is None:
        raise undecodable(f"{transport} reports are not decoded here")
    return builder(decoder_spec)


def check_ranges(values: Mapping[str, Value], fields: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse non-finite numbers and values outside a field's declared range."""
    for name, value in values.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise ReportRejected("out-of-range", f"{name} is {value}")
        limits = fields.get(name, {})
        if isinstance(value, int | float) and not isinstance(value, bool):
            low, high = limits.get("min"), limits.get("max")
            if (low is not None and value < low) or (high is not None and value > high):
                raise ReportRejected("out-of-range", f"{name}={value} outside [{low}, {high}]")
