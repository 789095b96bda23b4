"""Decoders built from data-source type specs (edgeward.sync.registry), one per transport.

The registry is the decoding source: an admitted reading is decoded by its
source's type, never by gateway.toml. The decoders themselves are the ones
in :mod:`edgeward.gateway.decoding` and the Modbus register map; this module
only translates a type's spec into them. A decoder raises
:class:`~edgeward.sync.reports.ReportRejected` with reason ``undecodable`` on
anything it can't read, and never anything else, so admission counts garbage
instead of dying on it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from edgeward.drivers.ble.config import normalize_uuid
from edgeward.drivers.errors import DriverError
from edgeward.drivers.modbus.register_map import Order, RegisterField, RegisterMap, Table, ValueType
from edgeward.gateway.decoding import (
    BinaryField,
    BinaryLayoutDecoder,
    BinaryType,
    DelimitedDecoder,
    FieldType,
    JsonDecoder,
    TextField,
    Value,
)
from edgeward.sync.reports import ReportRejected

__all__ = ["BUILDERS", "Decoder", "Value", "build", "check_ranges"]

Decoder = Callable[[bytes, str], dict[str, Value]]


class _FrameDecoder(Protocol):
    def decode(self, frame: bytes) -> Mapping[str, Value]: ...


def _guarded(decoder: _FrameDecoder) -> Decoder:
    """``decoder`` with every decoding failure turned into an ``undecodable`` refusal."""

    def decode(payload: bytes, origin: str) -> dict[str, Value]:
        try:
            return dict(decoder.decode(payload))
        except DriverError as exc:  # DeviceProtocolError and the register map's errors
            raise ReportRejected("undecodable", str(exc)) from exc

    return decode


def modbus_decoder(spec: Mapping[str, Any]) -> Decoder:
    converters: dict[str, Callable[[Any], Any]] = {
        "type": ValueType,
        "table": Table,
        "word_order": Order,
        "byte_order": Order,
    }
    fields = []
    for entry in spec["registers"]:
        arguments = {key: converters.get(key, lambda v: v)(value) for key, value in entry.items()}
        fields.append(RegisterField(**arguments))
    return _guarded(RegisterMap(fields))


def mqtt_decoder(spec: Mapping[str, Any]) -> Decoder:
    """``{"fields": {value name: JSON key}}``: any finite scalar, at a dotted path."""
    fields = tuple(
        TextField(name, FieldType.SCALAR, path=key) for name, key in spec["fields"].items()
    )
    return _guarded(JsonDecoder(fields))


def serial_decoder(spec: Mapping[str, Any]) -> Decoder:
    """``{"fields": [names in frame order], "separator": ","}``: numbers, one per position."""
    fields = tuple(TextField(name, FieldType.FLOAT) for name in spec["fields"])
    return _guarded(DelimitedDecoder(fields, spec.get("separator", ",")))


def ble_decoder(spec: Mapping[str, Any]) -> Decoder:
    """A binary layout per GATT characteristic, chosen by the UUID that ends the origin
    (both as 128-bit UUIDs: a type may name ``"2a6e"``, the driver says the whole)."""
    layouts = {
        normalize_uuid(entry["uuid"], "decoder.characteristics"): BinaryLayoutDecoder(
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
        layout = layouts.get(uuid)
        if layout is None:
            raise ReportRejected("undecodable", f"no layout for characteristic {uuid[:64]}")
        return _guarded(layout)(payload, origin)

    return decode


BUILDERS: dict[str, Callable[[Mapping[str, Any]], Decoder]] = {
    "modbus": modbus_decoder,
    "mqtt": mqtt_decoder,
    "serial": serial_decoder,
    "ble": ble_decoder,
}


def build(transport: str, decoder_spec: Mapping[str, Any]) -> Decoder:
    return BUILDERS[transport](decoder_spec)


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
