"""Modbus TCP transport over pymodbus 3.x.

One driver per endpoint (host and port): the units behind it share one TCP
connection and pymodbus keeps one request in flight on it; separate
endpoints are separate drivers and poll concurrently. Reconnection is ours,
not pymodbus's: its automatic reconnect is switched off so that the
gateway's coordinator alone decides when to retry and what counts as down.
Each unit has a circuit breaker, so a unit a TCP-to-RTU gateway can't reach
stops holding the shared connection for its timeout on every poll.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from pymodbus.client import AsyncModbusTcpClient

from edgeward.drivers.base import PollingDriver, Reading
from edgeward.drivers.breaker import BreakerPolicy, CircuitBreaker
from edgeward.drivers.errors import DeviceProtocolError, DeviceUnavailable, DriverConfigError
from edgeward.drivers.modbus.blocks import Block
from edgeward.drivers.modbus.requests import LinkBroken, connect, read_block


@dataclass(frozen=True, slots=True)
class ModbusDevice:
    """A unit behind an endpoint, read as data source ``source``: ``blocks`` per poll,
    ``pause`` seconds apart (a device that needs time between two requests)."""

    source: str
    unit: int
    blocks: tuple[Block, ...]
    pause: float = 0.0


class ModbusTcpDriver(PollingDriver):
    def __init__(
        self,
        host: str,
        port: int,
        devices: list[ModbusDevice],
        *,
        timeout: float = 2.0,
        breaker: BreakerPolicy | None = None,
    ) -> None:
        if not devices:
            raise DriverConfigError(f"no devices configured for modbus-tcp://{host}:{port}")
        self.host = host
        self.port = port
        self.timeout = timeout
        self._devices = {device.source: device for device in devices}
        if len(self._devices) != len(devices):
            raise DriverConfigError(f"a source is configured twice on modbus-tcp://{host}:{port}")
        self.breakers = {device.source: CircuitBreaker(breaker) for device in devices}
        self._origins = {
            device.source: f"modbus-tcp://{host}:{port}/{device.unit}" for device in devices
        }
        self._client: AsyncModbusTcpClient | None = None
        self._connect_lock = asyncio.Lock()

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(self._devices)

    def origin(self, device: ModbusDevice) -> str:
        return self._origins[device.source]

    async def open(self) -> None:
        if self._client is not None and self._client.connected:
            return  # the common case, without taking the lock
        async with self._connect_lock:
            if self._client is not None and self._client.connected:
                return
            await self._drop_client()
            client = AsyncModbusTcpClient(
                self.host,
                port=self.port,
                timeout=self.timeout,
                retries=0,
                reconnect_delay=0,
            )
            await connect(client, self.timeout, self._endpoint, "connection refused")
            self._client = client

    async def poll(self, source: str) -> Reading:
        device = self._devices[source]
        breaker = self.breakers[source]
        origin = self.origin(device)
        breaker.check(origin)
        try:
            await self.open()
            client = self._client
            assert client is not None
            # pymodbus's own timeout (self.timeout, retries off) bounds each request.
            frame = bytearray()
            for index, block in enumerate(device.blocks):
                if index and device.pause:
                    await asyncio.sleep(device.pause)
                frame += await read_block(client, block, device.unit, None, origin)
        except LinkBroken:
            # The connection is in an unknown state; the next poll starts afresh.
            await self._drop_client()
            breaker.failed()
            raise
        except DeviceProtocolError:
            breaker.succeeded()  # it answered: the unit is there, the map is wrong
            raise
        except DeviceUnavailable:
            breaker.failed()
            raise
        breaker.succeeded()
        return Reading(source=source, raw=bytes(frame), time=datetime.now(UTC), origin=origin)

    async def close(self) -> None:
        async with self._connect_lock:
            await self._drop_client()

    @property
    def _endpoint(self) -> str:
        return f"modbus-tcp://{self.host}:{self.port}"

    async def _drop_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
