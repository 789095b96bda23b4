"""The ``[[modbus_tcp]]`` and ``[[modbus_rtu]]`` sections of gateway.toml: where each unit is.

A device section binds a source to a unit behind an endpoint (host and
port) or on a bus (a serial port with its character format) and says how
often to read it. What to read, and how, is the source's data-source type
(register map and request limits), which the gateway takes from its
signed registry: gateway.toml never repeats it.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgeward.drivers.modbus.rtu import PARITIES
from edgeward.gateway.config.section import Section

BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
# Keys of earlier versions, now in the data-source type.
MOVED_TO_TYPE = ("registers",)


@dataclass(frozen=True, slots=True)
class ModbusDeviceConfig:
    source: str
    unit: int
    poll_interval: float
    # RTU only: this unit's request timeout (seconds); None means the bus's.
    timeout: float | None = None


@dataclass(frozen=True, slots=True)
class ModbusTcpConfig:
    host: str
    port: int
    timeout: float
    devices: tuple[ModbusDeviceConfig, ...]

    @property
    def bus(self) -> str:
        """The endpoint as a registry binding names it (``bus`` of a Modbus source)."""
        return f"modbus-tcp://{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class ModbusRtuConfig:
    port: str
    baudrate: int
    parity: str
    bytesize: int
    stopbits: int
    timeout: float
    devices: tuple[ModbusDeviceConfig, ...]

    @property
    def bus(self) -> str:
        return f"modbus-rtu://{self.port}"


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
    device.refuse_moved(*MOVED_TO_TYPE)
    keys = ["source", "unit", "poll_interval"]
    device.allow(*keys, "timeout") if rtu else device.allow(*keys)
    return ModbusDeviceConfig(
        source=device.identifier("source"),
        # RTU unit 0 is the broadcast address (Modbus over serial line v1.02 §2.2),
        # which no unit answers, so it can't be polled.
        unit=device.integer("unit", 1 if rtu else 0, 247 if rtu else 255),
        poll_interval=device.number("poll_interval", 0.01, 86_400, 1.0),
        timeout=device.number("timeout", 0.01, 60) if rtu and "timeout" in device.data else None,
    )
