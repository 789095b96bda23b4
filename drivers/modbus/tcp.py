"""Modbus TCP transport over pymodbus 3.x.

One driver per endpoint (host and port): the units behind it share one TCP
connection and pymodbus keeps one request in flight on it. Reconnection is
ours, not pymodbus's: its automatic reconnect is switched off so that the
gateway's coordinator alone decides when to retry and what counts as down.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from edgeward.drivers.base import PollingDriver, Reading
from edgeward.drivers.errors import DeviceProtocolError, DeviceUnavailable, DriverConfigError
from edgeward.drivers.modbus.register_map import Block, RegisterMap, Table

# Modbus Application Protocol Specification v1.1b3, §7 "MODBUS Exception Responses".
EXCEPTION_CODES: dict[int, str] = {
    0x01: "illegal function",
    0x02: "illegal data address",
    0x03: "illegal data value",
    0x04: "server device failure",
    0x05: "acknowledge",
    0x06: "server device busy",
    0x08: "memory parity error",
    0x0A: "gateway path unavailable",
    0x0B: "gateway target device failed to respond",
}
# Codes that say "not now" rather than "never": the device or a gateway in front
# of it is busy or unreachable, so the read counts as unavailable.
RETRYABLE_CODES = frozenset({0x05, 0x06, 0x0A, 0x0B})


@dataclass(frozen=True, slots=True)
class ModbusDevice:
    """A unit behind an endpoint, read as data source ``source``."""

    source: str
    unit: int
    register_map: RegisterMap


class ModbusTcpDriver(PollingDriver):
    def __init__(
        self,
        host: str,
        port: int,
        devices: list[ModbusDevice],
        *,
        timeout: float = 2.0,
    ) -> None:
        if not devices:
            raise DriverConfigError(f"no devices configured for modbus-tcp://{host}:{port}")
        self.host = host
        self.port = port
        self.timeout = timeout
        self._devices = {device.source: device for device in devices}
        if len(self._devices) != len(devices):
            raise DriverConfigError(f"a source is configured twice on modbus-tcp://{host}:{port}")
        self._client: AsyncModbusTcpClient | None = None
        self._connect_lock = asyncio.Lock()

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(self._devices)

    def origin(self, device: ModbusDevice) -> str:
        return f"modbus-tcp://{self.host}:{self.port}/{device.unit}"

    async def open(self) -> None:
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
            try:
                connected = await asyncio.wait_for(client.connect(), self.timeout)
            except (TimeoutError, OSError, ModbusException) as exc:
                client.close()
                raise DeviceUnavailable(f"cannot connect: {exc!r}", device=self._endpoint) from exc
            if not connected:
                client.close()
                raise DeviceUnavailable("connection refused", device=self._endpoint)
            self._client = client

    async def poll(self, source: str) -> Reading:
        device = self._devices[source]
        await self.open()
        frame = bytearray()
        for block in device.register_map.blocks:
            frame += await self._read_block(device, block)
        return Reading(
            source=source,
            raw=bytes(frame),
            time=datetime.now(UTC),
            origin=self.origin(device),
        )

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

    async def _read_block(self, device: ModbusDevice, block: Block) -> bytes:
        client = self._client
        assert client is not None
        read = (
            client.read_holding_registers
            if block.table is Table.HOLDING
            else client.read_input_registers
        )
        where = f"{self.origin(device)} {block.table} {block.address}+{block.count}"
        try:
            response = await asyncio.wait_for(
                read(block.address, count=block.count, device_id=device.unit),
                self.timeout,
            )
        except (TimeoutError, OSError, ModbusException) as exc:
            # The connection is in an unknown state; the next poll starts afresh.
            await self._drop_client()
            raise DeviceUnavailable(f"no answer: {exc!r}", device=where) from exc
        if response.isError():
            code = int(getattr(response, "exception_code", 0))
            meaning = EXCEPTION_CODES.get(code, "unknown exception code")
            message = f"exception {code:#04x} ({meaning})"
            if code in RETRYABLE_CODES:
                raise DeviceUnavailable(message, device=where)
            raise DeviceProtocolError(message, device=where, code=code)
        registers = list(getattr(response, "registers", []))
        if len(registers) != block.count:
            raise DeviceProtocolError(
                f"asked for {block.count} registers, got {len(registers)}", device=where
            )
        return b"".join(register.to_bytes(2, "big") for register in registers)
