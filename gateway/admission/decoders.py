"""Decoders built from data-source type specs (edgeward.sync.registry), one per transport.

The registry is the decoding source: an admitted reading is decoded by its
source's type, never by gateway.toml. MQTT, serial and BLE decoding is shared
with the cloud (which opens reports sealed for it) and lives in
:mod:`edgeward.sync.type_decoders`; Modbus register maps decode here, through the
drivers' :class:`RegisterMap`. The contract is the same for all four:
:class:`~edgeward.sync.reports.ReportRejected` with reason ``undecodable``,
never anything else, so admission counts garbage instead of dying on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from edgeward.drivers.errors import DriverError
from edgeward.drivers.modbus.register_map import Order, RegisterField, RegisterMap, Table, ValueType
from edgeward.sync import type_decoders
from edgeward.sync.type_decoders import Decoder, Value, check_ranges

__all__ = ["BUILDERS", "Decoder", "Value", "build", "check_ranges", "modbus_decoder"]


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
    register_map = RegisterMap(fields)

    def decode(payload: bytes, origin: str) -> dict[str, Value]:
        try:
            return dict(register_map.decode(payload))
        except DriverError as exc:
            field, value = getattr(exc, "field", None), getattr(exc, "value", None)
            raise type_decoders.undecodable(str(exc), field=field, value=value) from exc

    return decode


BUILDERS: dict[str, Callable[[Mapping[str, Any]], Decoder]] = {
    **type_decoders.BUILDERS,
    "modbus": modbus_decoder,
}


def build(transport: str, decoder_spec: Mapping[str, Any]) -> Decoder:
    return BUILDERS[transport](decoder_spec)
