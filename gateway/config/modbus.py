"""The ``[[modbus_tcp]]`` and ``[[modbus_rtu]]`` sections of gateway.toml.

Both describe devices the same way (source, unit, poll_interval, registers);
they differ in how the wire is reached: a host and port, or a serial port
with its character format.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgeward.drivers.errors import DriverConfigError
from edgeward.drivers.modbus.register_map import (
    Order,
    RegisterField,
    RegisterMap,
    Table,
    ValueType,
)
from edgeward.drivers.modbus.rtu import PARITIES
from edgeward.gateway.config.section import Section

BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)


@dataclass(frozen=True, slots=True)
class ModbusDeviceConfig:
    source: str
    unit: int
    poll_interval: float
    register_map: RegisterMap
    # RTU only: this unit's request timeout (seconds); None means the bus's.
    timeout: float | None = None


@dataclass(frozen=True, slots=True)
class ModbusTcpConfig:
    host: str
    port: int
    timeout: float
    devices: tuple[ModbusDeviceConfig, ...]


@dataclass(frozen=True, slots=True)
class ModbusRtuConfig:
    port: str
    baudrate: int
    parity: str
    bytesize: int
    stopbits: int
    timeout: float
    devices: tuple[ModbusDeviceConfig, ...]


def parse_modbus_tcp(endpoint: Section) -> ModbusTcpConfig:
    endpoint.allow("host", "port", "timeout", "devices")
    devices = tuple(parse_device(device, rtu=False) for device in endpoint.sections("devices"))
    if not devices:
        raise endpoint.error("devices", "at least one [[modbus_tcp.devices]]", "none")
    return ModbusTcpConfig(
        host=endpoint.string("host"),
        port=endpoint.integer("port", 1, 65535, 502),
        timeout=endpoint.number("timeout", 0.05, 60, 2.0),
        devices=devices,
    )


def parse_modbus_rtu(bus: Section) -> ModbusRtuConfig:
    bus.allow("port", "baudrate", "parity", "bytesize", "stopbits", "timeout", "devices")
    devices = tuple(parse_device(device, rtu=True) for device in bus.sections("devices"))
    if not devices:
        raise bus.error("devices", "at least one [[modbus_rtu.devices]]", "none")
    baudrate = bus.integer("baudrate", 1, 4_000_000, 19200)
    if baudrate not in BAUDRATES:
        raise bus.error("baudrate", "one of " + ", ".join(map(str, BAUDRATES)), baudrate)
    bytesize = bus.integer("bytesize", 7, 8, 8)
    return ModbusRtuConfig(
        port=bus.string("port"),
        baudrate=baudrate,
        parity=bus.choice("parity", PARITIES, "N"),
        bytesize=bytesize,
        stopbits=bus.integer("stopbits", 1, 2, 1),
        timeout=bus.number("timeout", 0.01, 60, 1.0),
        devices=devices,
    )


def parse_device(device: Section, *, rtu: bool) -> ModbusDeviceConfig:
    keys = ["source", "unit", "poll_interval", "registers"]
    device.allow(*keys, "timeout") if rtu else device.allow(*keys)
    fields = [_register(register) for register in device.sections("registers")]
    try:
        register_map = RegisterMap(fields)
    except DriverConfigError as exc:
        raise device.error("registers", "a register map without clashes", str(exc)) from exc
    return ModbusDeviceConfig(
        source=device.identifier("source"),
        # RTU unit 0 is the broadcast address (Modbus over serial line v1.02 §2.2),
        # which no unit answers, so it can't be polled.
        unit=device.integer("unit", 1 if rtu else 0, 247 if rtu else 255),
        poll_interval=device.number("poll_interval", 0.01, 86_400, 1.0),
        register_map=register_map,
        timeout=device.number("timeout", 0.01, 60) if rtu and "timeout" in device.data else None,
    )


def _register(register: Section) -> RegisterField:
    register.allow(
        "name",
        "address",
        "type",
        "table",
        "word_order",
        "byte_order",
        "scale",
        "offset",
        "count",
    )
    return RegisterField(
        name=register.identifier("name"),
        address=register.integer("address", 0, 65535),
        type=ValueType(register.choice("type", tuple(ValueType))),
        table=Table(register.choice("table", tuple(Table), Table.HOLDING)),
        word_order=Order(register.choice("word_order", tuple(Order), Order.BIG)),
        byte_order=Order(register.choice("byte_order", tuple(Order), Order.BIG)),
        scale=register.number("scale", -1e12, 1e12, 1.0),
        offset=register.number("offset", -1e12, 1e12, 0.0),
        count=register.integer("count", 1, 125) if "count" in register.data else None,
    )
