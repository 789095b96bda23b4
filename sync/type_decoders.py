"""Decoders built from data-source type specs (edgeward.sync.registry): MQTT JSON, serial
text frames and BLE characteristic layouts, and the range check every decoded value passes.

Both sides decode: the gateway every report it admits, the cloud the reports
sealed for it alone, so the spec builders live in the shared contract beside
the frame decoders they build (:mod:`edgeward.sync.frames`). The registry is
the decoding source: an admitted reading is decoded by its source's type,
never by gateway.toml. A decoder turns a report's payload into named values;
it raises :class:`~edgeward.sync.reports.ReportRejected` with reason
``undecodable`` on anything it can't read, and never anything else, so
admission counts garbage instead of dying on it. Modbus register maps decode
on the gateway alone (``edgeward.gateway.admission.decoders``): a meter on a bus can't
seal its reports.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from edgeward.sync.frames import (
    BinaryField,
    BinaryLayoutDecoder,
    BinaryType,
    DelimitedDecoder,
    FieldType,
    JsonDecoder,
    TextField,
    Value,
    normalize_uuid,
    undecodable,
)
from edgeward.sync.reports import ReportRejected

__all__ = ["BUILDERS", "Decoder", "Value", "build", "check_ranges", "undecodable"]

Decoder = Callable[[bytes, str], dict[str, Value]]


class _FrameDecoder(Protocol):
    def decode(self, frame: bytes) -> Mapping[str, Value]: ...


def _payload_only(decoder: _FrameDecoder) -> Decoder:
    def decode(payload: bytes, origin: str) -> dict[str, Value]:
        return dict(decoder.decode(payload))

    return decode


def mqtt_decoder(spec: Mapping[str, Any]) -> Decoder:
    """``{"fields": {value name: JSON key}}``: any finite scalar, at a dotted path."""
    fields = tuple(
        TextField(name, FieldType.SCALAR, path=key) for name, key in spec["fields"].items()
    )
    return _payload_only(JsonDecoder(fields))


def serial_decoder(spec: Mapping[str, Any]) -> Decoder:
    """``{"fields": [names in frame order], "separator": ","}``: numbers, one per position."""
    fields = tuple(TextField(name, FieldType.FLOAT) for name in spec["fields"])
    return _payload_only(DelimitedDecoder(fields, spec.get("separator", ",")))


def ble_decoder(spec: Mapping[str, Any]) -> Decoder:
    """A binary layout per GATT characteristic, chosen by the UUID that ends the origin
    (both as 128-bit UUIDs: a type may name ``"2a6e"``, the driver says the whole).

    Raises ValueError for a characteristic that names no UUID or a type no layout has.
    """
    layouts = {
        normalize_uuid(entry["uuid"]): BinaryLayoutDecoder(
            tuple(
                BinaryField(
                    part["name"], part["offset"], BinaryType(part["type"]), part.get("scale", 1.0)
                )
                for part in entry["layout"]
            )
        )
        for entry in spec["characteristics"]
    }

    def decode(payload: bytes, origin: str) -> dict[str, Value]:
        uuid = origin.rsplit("/", 1)[-1].lower()
        layout = layouts.get(uuid) or layouts.get(_normalized(uuid))
        if layout is None:
            raise undecodable(f"no layout for characteristic {uuid[:64]}")
        return dict(layout.decode(payload))

    return decode


def _normalized(uuid: str) -> str:
    """``uuid`` in 128-bit form, or as it is if it is none (then no layout matches)."""
    try:
        return normalize_uuid(uuid)
    except ValueError:
        return uuid


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
            raise ReportRejected("out-of-range", f"{name} is {value}", field=name, value=value)
        limits = fields.get(name, {})
        if isinstance(value, int | float) and not isinstance(value, bool):
            low, high = limits.get("min"), limits.get("max")
            if (low is not None and value < low) or (high is not None and value > high):
                raise ReportRejected(
                    "out-of-range",
                    f"{name}={value} outside [{low}, {high}]",
                    field=name,
                    value=value,
                )
