"""Which built-in types fit what ``edgeward devices scan`` found, where it can tell.

- A Modbus unit: a built-in Modbus type fits if every one of its registers
  reads without an exception response, and, where a decoder is wired in
  (:func:`decoded`), the values decode within the type's field ranges.
  Each register is read on its own (one request per value), so a meter
  that refuses long reads or reads across registers it does not define
  (issue 16) is still judged by what it serves.
- A BLE device: the service UUIDs it advertises suggest built-in BLE types
  (their ``service``) and the Bluetooth SIG's standard services, whose
  characteristics a type names by UUID alone, without a layout.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from edgeward.drivers.errors import DeviceProtocolError, DeviceUnavailable
from edgeward.drivers.modbus.blocks import Block, Table
from edgeward.drivers.modbus.requests import read_block
from edgeward.sync.reports import ReportRejected
from edgeward.sync.source_types import parse_type_spec
from edgeward.sync.source_types.builtin import BUILTIN
from edgeward.sync.source_types.decoders import check_ranges
from edgeward.sync.source_types.modbus import RegisterPlan
from edgeward.sync.source_types.spec import BleType, ModbusDecoder, ModbusType, Register, TypeSpec
from edgeward.sync.source_types.uuids import normalize_uuid

# Registers a value of each type spans (strings: their ``count``).
REGISTERS = {"int16": 1, "uint16": 1, "bool": 1, "int32": 2, "uint32": 2, "float32": 2}
REGISTERS |= {"int64": 4, "uint64": 4, "float64": 4}

# The Bluetooth Base UUID's tail (Core spec v5.4, Vol 3, Part B, §2.5.1).
BLUETOOTH_BASE = "-0000-1000-8000-00805f9b34fb"
# Standard services (Bluetooth SIG Assigned Numbers, "GATT Service" UUIDs) and the
# characteristics (GATT Specification Supplement) a type reads by UUID alone.
STANDARD_SERVICES: dict[str, tuple[str, tuple[str, ...]]] = {
    "181a": ("Environmental Sensing", ("2a6e temperature", "2a6f humidity", "2a6d pressure")),
    "180f": ("Battery", ("2a19 battery level",)),
    "1809": ("Health Thermometer", ("2a1c temperature measurement",)),
}


@dataclass(frozen=True, slots=True)
class Fit:
    type_id: str
    fits: bool
    detail: str


def builtin_types(transport: type[TypeSpec]) -> dict[str, TypeSpec]:
    parsed = {type_id: parse_type_spec(doc) for type_id, (_, doc) in BUILTIN.items()}
    return {type_id: spec for type_id, spec in parsed.items() if isinstance(spec, transport)}


def register_block(register: Register) -> Block:
    table = Table(register.table)
    count = 1 if table.is_bits else (register.count or REGISTERS.get(register.type, 1))
    return Block(table, register.address, count)


def reads(decoder: ModbusDecoder) -> list[Block]:
    """The reads a fit check makes: the type's own plan, as the gateway would poll it."""
    return [Block(Table(b.table), b.address, b.count) for b in RegisterPlan(decoder).blocks]


def decoded(spec: ModbusType, frame: bytes) -> str | None:
    """Why ``frame`` (the bytes of :func:`reads`, in order) doesn't fit ``spec``: a value
    out of its field's range or undecodable; None if it fits."""
    try:
        check_ranges(RegisterPlan(spec.decoder).decode(frame), spec.fields)
    except ReportRejected as refusal:
        return str(refusal)
    return None


async def modbus_fits(client: Any, unit: int, wait: float, where: str) -> list[Fit]:
    """Each built-in Modbus type, read from ``unit`` through a connected pymodbus client."""
    fits = []
    for type_id, spec in builtin_types(ModbusType).items():
        assert isinstance(spec, ModbusType)
        fits.append(await fit_modbus(client, unit, wait, where, type_id, spec))
    return fits


async def fit_modbus(
    client: Any, unit: int, wait: float, where: str, type_id: str, spec: ModbusType
) -> Fit:
    frame = b""
    blocks = reads(spec.decoder)
    for block in blocks:
        try:
            frame += await read_block(client, block, unit, wait, f"{where} unit {unit}")
        except DeviceProtocolError as exc:
            code = f"exception {exc.code:#04x}" if exc.code is not None else "a bad answer"
            return Fit(type_id, False, f"{block.table} {block.address}: {code}")
        except DeviceUnavailable:
            return Fit(type_id, False, f"{block.table} {block.address}: no answer")
    misfit = decoded(spec, frame)
    if misfit is not None:
        return Fit(type_id, False, misfit)
    count = len(spec.decoder.registers)
    return Fit(type_id, True, f"{count} register{'s' if count != 1 else ''} read")


def ble_suggestions(service_uuids: Iterable[str]) -> list[str]:
    """What the advertised ``service_uuids`` suggest, one line each."""
    advertised = {_short(uuid) for uuid in service_uuids}
    lines = []
    for type_id, spec in builtin_types(BleType).items():
        assert isinstance(spec, BleType)
        if spec.decoder.service is not None and _short(spec.decoder.service) in advertised:
            lines.append(f"fits {type_id} (it advertises its service {spec.decoder.service})")
    for uuid in sorted(advertised):
        if uuid in STANDARD_SERVICES:
            name, characteristics = STANDARD_SERVICES[uuid]
            lines.append(
                f"service {uuid} ({name}): a type naming {', '.join(characteristics)} "
                "by UUID needs no layout"
            )
    return lines


def _short(uuid: str) -> str:
    """``0000181a-0000-1000-8000-00805f9b34fb`` as ``181a``; other UUIDs normalized."""
    try:
        full = normalize_uuid(uuid)
    except ValueError:
        return uuid.lower()
    return (
        full[4:8]
        if full.endswith("-0000-1000-8000-00805f9b34fb") and full.startswith("0000")
        else full
    )
