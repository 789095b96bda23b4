"""Modbus RTU transport over pymodbus 3.x: one driver per serial bus.

Every unit on a bus (an RS-485 line, multi-drop) shares its one port and its
:class:`~edgeward.drivers.modbus.bus.BusScheduler`, so exactly one request is
in flight per bus; separate buses are separate drivers and run in parallel.
Each unit has its own timeout (a unit known to be slow or far gets more, the
rest stay short) and its own :class:`~edgeward.drivers.breaker.CircuitBreaker`:
after a few failures in a row it is reported unavailable without touching the
line, and probed again with backoff. pymodbus's own retries and reconnects
are off, as for TCP: the breaker and the coordinator decide when to retry.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from pymodbus.client import AsyncModbusSerialClient

from edgeward.drivers.base import PollingDriver, Reading
from edgeward.drivers.breaker import BreakerPolicy, CircuitBreaker
from edgeward.drivers.errors import DeviceProtocolError, DeviceUnavailable, DriverConfigError
from edgeward.drivers.modbus.blocks import Block
from edgeward.drivers.modbus.bus import BusScheduler
from edgeward.drivers.modbus.requests import LinkBroken, connect, read_block

PARITIES = ("N", "E", "O")


@dataclass(frozen=True, slots=True)
class SerialLine:
    """How the bus is wired: the port and its character format."""

    port: str
    baudrate: int = 19200
    parity: str = "N"
    bytesize: int = 8
    stopbits: int = 1


@dataclass(frozen=True, slots=True)
class RtuDevice:
    """A unit on the bus, read as data source ``source``: ``blocks`` per poll, ``pause``
    seconds apart (the bus stays held in between), ``timeout`` per request."""

    source: str
    unit: int
    blocks: tuple[Block, ...]
    timeout: float = 1.0
    pause: float = 0.0


class ModbusRtuDriver(PollingDriver):
    def __init__(
        self,
        line: SerialLine,
        devices: list[RtuDevice],
        *,
        breaker: BreakerPolicy | None = None,
        slot_wait: float = 5.0,
    ) -> None:
        if not devices:
            raise DriverConfigError(f"no devices configured for modbus-rtu://{line.port}")
        if line.parity not in PARITIES:
            raise DriverConfigError(f"parity must be one of {PARITIES}, not {line.parity!r}")
        self.line = line
        self._devices = {device.source: device for device in devices}
        if len(self._devices) != len(devices):
            raise DriverConfigError(f"a source is configured twice on modbus-rtu://{line.port}")
        self.breakers = {device.source: CircuitBreaker(breaker) for device in devices}
        self._bus = BusScheduler(slot_wait)
        self._client: AsyncModbusSerialClient | None = None
        self._connect_lock = asyncio.Lock()

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(self._devices)

    def origin(self, device: RtuDevice) -> str:
        return f"modbus-rtu://{self.line.port}/{device.unit}"

    async def open(self) -> None:
        async with self._connect_lock:
            if self._client is not None and self._client.connected:
                return
            self._drop_client()
            timeout = max(device.timeout for device in self._devices.values())
            client = AsyncModbusSerialClient(
                self.line.port,
                baudrate=self.line.baudrate,
                parity=self.line.parity,
                bytesize=self.line.bytesize,
                stopbits=self.line.stopbits,
                timeout=timeout,
                retries=0,
                reconnect_delay=0,
            )
            await connect(client, timeout, self._bus_name, "cannot open the serial port")
            self._client = client

    async def poll(self, source: str) -> Reading:
        device = self._devices[source]
        breaker = self.breakers[source]
        breaker.check(self.origin(device))
        others_healthy = any(
            not other.suspect for name, other in self.breakers.items() if name != source
        )
        async with self._bus.turn(suspect=breaker.suspect, others_healthy=others_healthy):
            try:
                frame = await self._read(device)
            except DeviceProtocolError:
                breaker.succeeded()  # it answered: the unit is there, the map is wrong
                raise
            except DeviceUnavailable:
                breaker.failed()
                raise
        breaker.succeeded()
        return Reading(source=source, raw=frame, time=datetime.now(UTC), origin=self.origin(device))

    async def close(self) -> None:
        async with self._connect_lock:
            self._drop_client()

    @property
    def _bus_name(self) -> str:
        return f"modbus-rtu://{self.line.port}"

    def _drop_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def _read(self, device: RtuDevice) -> bytes:
        await self.open()
        client = self._client
        assert client is not None
        frame = bytearray()
        origin = self.origin(device)
        for index, block in enumerate(device.blocks):
            if index and device.pause:
                await asyncio.sleep(device.pause)
            try:
                frame += await read_block(client, block, device.unit, device.timeout, origin)
            except LinkBroken:
                # A silent unit leaves the port usable; a vanished port does not.
                if not client.connected:
                    self._drop_client()
                raise
        return bytes(frame)
