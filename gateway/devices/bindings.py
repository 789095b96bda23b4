"""Coordinators built from gateway.toml's bindings and the registry's types.

gateway.toml says where each source is and how often to read it; its
data-source type, from the signed registry, says what to read and how.
Here the two meet: one coordinator (a driver and what polls or streams it)
per endpoint, bus, port, broker or adapter, as gateway.toml groups them.

A source whose type is not known (no registry yet, not registered, or a
type this gateway can't read) or whose type is of another transport than
its section is not read: it is reported as waiting, with the reason, and
read as soon as a registry gives it a type. Each group has a fingerprint of
what its drivers were built from, so the runtime rebuilds exactly the
groups a new registry changed (see :mod:`edgeward.gateway.runtime.pipeline`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import msgspec

from edgeward.drivers.base import PollingDriver
from edgeward.drivers.ble.config import BleCharacteristic, BleDevice, Mode
from edgeward.drivers.ble.driver import BleDriver
from edgeward.drivers.modbus.blocks import Block, Table
from edgeward.drivers.modbus.rtu import ModbusRtuDriver, RtuDevice, SerialLine
from edgeward.drivers.modbus.tcp import ModbusDevice, ModbusTcpDriver
from edgeward.drivers.mqtt.client import MqttDriver
from edgeward.drivers.serial.framing import (
    BlockFramer,
    Checksum,
    Framer,
    LengthPrefixedFramer,
    LineFramer,
    StxEtxFramer,
)
from edgeward.drivers.serial.polled import SerialPollingDriver
from edgeward.drivers.serial.port import SerialSettings
from edgeward.drivers.serial.stream import SerialDriver
from edgeward.gateway.config.ble import BleConfig
from edgeward.gateway.config.loader import (
    GatewayConfig,
    ModbusDeviceConfig,
    ModbusRtuConfig,
    ModbusTcpConfig,
    MqttConfig,
    SerialConfig,
)
from edgeward.gateway.devices.polling import Gate, PollCoordinator
from edgeward.gateway.devices.streaming import StreamCoordinator
from edgeward.sync.source_types.modbus import RegisterPlan
from edgeward.sync.source_types.spec import (
    BleType,
    BlockFraming,
    LengthPrefixedFraming,
    LineFraming,
    ModbusType,
    SerialType,
    StxEtxFraming,
    TypeSpec,
)

Coordinator = PollCoordinator | StreamCoordinator


@dataclass
class DeviceGroup:
    """The devices of one gateway.toml section that share a driver."""

    name: str
    # What the driver was built from: a new registry that changes it rebuilds the group.
    fingerprint: bytes
    coordinator: Coordinator | None
    # Sources of this section that are not read, and why.
    waiting: dict[str, str] = field(default_factory=dict)


def device_groups(
    config: GatewayConfig, types: Mapping[str, TypeSpec], gate: Gate
) -> list[DeviceGroup]:
    """Every section's group, built from its bindings and the sources' types."""
    builder = _Builder(types, gate)
    groups = [builder.modbus_tcp(f"modbus_tcp[{i}]", e) for i, e in enumerate(config.modbus_tcp)]
    groups += [builder.modbus_rtu(f"modbus_rtu[{i}]", b) for i, b in enumerate(config.modbus_rtu)]
    groups += [builder.serial(f"serial[{i}]", p) for i, p in enumerate(config.serial)]
    groups += [builder.mqtt(f"mqtt[{i}]", b) for i, b in enumerate(config.mqtt)]
    if config.ble is not None:
        groups.append(builder.ble("ble", config.ble))
    return groups


class _Builder:
    def __init__(self, types: Mapping[str, TypeSpec], gate: Gate) -> None:
        self.types = types
        self.gate = gate

    def _typed(
        self, sources: list[str], kind: type[TypeSpec], section: str
    ) -> tuple[dict[str, TypeSpec], dict[str, str]]:
        """The sources' types of transport ``kind``, and why each other source waits."""
        found: dict[str, TypeSpec] = {}
        waiting: dict[str, str] = {}
        for source in sources:
            spec = self.types.get(source)
            if spec is None:
                waiting[source] = "waiting for its data-source type (not in the registry yet)"
            elif not isinstance(spec, kind):
                transport = type(spec).__struct_config__.tag
                waiting[source] = (
                    f"its data-source type reads {transport}, but it is bound in [[{section}]]"
                )
            else:
                found[source] = spec
        return found, waiting

    def modbus_tcp(self, name: str, endpoint: ModbusTcpConfig) -> DeviceGroup:
        devices, waiting = self._modbus(endpoint.devices)
        driver_devices = [
            ModbusDevice(d.source, d.unit, blocks, pause) for d, (blocks, pause) in devices
        ]
        coordinator = None
        if driver_devices:
            driver = ModbusTcpDriver(
                endpoint.host, endpoint.port, driver_devices, timeout=endpoint.timeout
            )
            coordinator = self._polling(driver, {d.source: d.poll_interval for d, _ in devices})
        return DeviceGroup(name, _fingerprint(name, devices), coordinator, waiting)

    def modbus_rtu(self, name: str, bus: ModbusRtuConfig) -> DeviceGroup:
        devices, waiting = self._modbus(bus.devices)
        driver_devices = [
            RtuDevice(d.source, d.unit, blocks, d.timeout or bus.timeout, pause)
            for d, (blocks, pause) in devices
        ]
        coordinator = None
        if driver_devices:
            # One driver, hence one scheduler, per serial bus; buses poll in parallel.
            line = SerialLine(bus.port, bus.baudrate, bus.parity, bus.bytesize, bus.stopbits)
            driver = ModbusRtuDriver(line, driver_devices)
            coordinator = self._polling(driver, {d.source: d.poll_interval for d, _ in devices})
        return DeviceGroup(name, _fingerprint(name, devices), coordinator, waiting)

    def _modbus(
        self, bindings: tuple[ModbusDeviceConfig, ...]
    ) -> tuple[list[tuple[ModbusDeviceConfig, tuple[tuple[Block, ...], float]]], dict[str, str]]:
        typed, waiting = self._typed([d.source for d in bindings], ModbusType, "modbus")
        devices = []
        for binding in bindings:
            spec = typed.get(binding.source)
            if isinstance(spec, ModbusType):
                plan = RegisterPlan(spec.decoder)
                blocks = tuple(Block(Table(b.table), b.address, b.count) for b in plan.blocks)
                devices.append((binding, (blocks, plan.pause)))
        return devices, waiting

    def serial(self, name: str, port: SerialConfig) -> DeviceGroup:
        typed, waiting = self._typed([port.source], SerialType, "serial")
        spec = typed.get(port.source)
        if not isinstance(spec, SerialType):
            return DeviceGroup(name, _fingerprint(name, None), None, waiting)
        settings = SerialSettings(
            port.port, port.baudrate, port.parity, port.bytesize, port.stopbits
        )
        framer = _framer(spec)
        coordinator: Coordinator
        if spec.decoder.request is not None:
            driver = SerialPollingDriver(
                settings, port.source, framer, spec.decoder.request.encode(), timeout=port.timeout
            )
            coordinator = self._polling(driver, {port.source: port.poll_interval})
        else:
            stream = SerialDriver(settings, port.source, framer, stale_after=port.stale_after)
            coordinator = StreamCoordinator(stream, self.gate)
        framing = (spec.decoder.framing, spec.decoder.request)
        return DeviceGroup(name, _fingerprint(name, framing), coordinator, waiting)

    def mqtt(self, name: str, broker: MqttConfig) -> DeviceGroup:
        # Subscribed whatever the registry says: a report on a bound topic from a
        # source that isn't registered is refused and reported, which is the point.
        driver = MqttDriver(broker.broker, list(broker.subscriptions))
        return DeviceGroup(name, _fingerprint(name, None), StreamCoordinator(driver, self.gate))

    def ble(self, name: str, ble: BleConfig) -> DeviceGroup:
        typed, waiting = self._typed([d.source for d in ble.devices], BleType, "ble")
        devices = []
        for binding in ble.devices:
            spec = typed.get(binding.source)
            if not isinstance(spec, BleType):
                continue
            characteristics = tuple(
                BleCharacteristic(
                    c.uuid,
                    Mode.NOTIFY if c.mode == "notify" else Mode.POLL,
                    poll_interval=binding.poll_interval,
                )
                for c in spec.decoder.characteristics
            )
            devices.append(BleDevice(binding.match, binding.source, characteristics))
        coordinator = None
        if devices:
            driver = BleDriver(devices, adapter=ble.adapter, timing=ble.timing)
            coordinator = StreamCoordinator(driver, self.gate)
        return DeviceGroup(name, _fingerprint(name, devices), coordinator, waiting)

    def _polling(self, driver: PollingDriver, intervals: dict[str, float]) -> PollCoordinator:
        return PollCoordinator(driver, intervals, self.gate)


def _framer(spec: SerialType) -> Framer:
    framing = spec.decoder.framing
    if isinstance(framing, LineFraming):
        return LineFramer(framing.delimiter.encode(), framing.max_length)
    if isinstance(framing, StxEtxFraming):
        return StxEtxFramer(Checksum(framing.check), framing.max_length)
    if isinstance(framing, LengthPrefixedFraming):
        return LengthPrefixedFramer(framing.length_size, framing.max_length)
    assert isinstance(framing, BlockFraming)
    return BlockFramer(
        end=framing.end,
        start=framing.start,
        delimiter=framing.delimiter.encode(),
        max_length=framing.max_length,
    )


def _fingerprint(name: str, built_from: object) -> bytes:
    """Canonical bytes of what a group's driver was built from (structs, dataclasses)."""
    return name.encode() + b"\0" + msgspec.json.encode(built_from)


def waiting_sources(groups: list[DeviceGroup]) -> Iterator[tuple[str, str]]:
    for group in groups:
        yield from group.waiting.items()
