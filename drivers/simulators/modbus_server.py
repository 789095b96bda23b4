"""A real pymodbus TCP server whose registers the caller owns.

Tests and the demo both need a Modbus device whose register values they
decide. :class:`RegisterBankServer` serves one register bank per unit (holding
and input reads see the same bank, as many meters do) and lets the owner
change words between reads with :meth:`RegisterBankServer.write`.
"""

from __future__ import annotations

import asyncio
import functools
import struct
from collections.abc import Iterable

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

BANK_SIZE = 256


class RegisterBankServer:
    """Modbus TCP server on ``host:port`` (port 0 picks a free one)."""

    def __init__(self, units: Iterable[int], host: str = "127.0.0.1", port: int = 0) -> None:
        self.banks: dict[int, list[int]] = {unit: [0] * BANK_SIZE for unit in units}
        self._host = host
        self._requested_port = port
        self._server: ModbusTcpServer | None = None
        self.port = port

    async def start(self) -> None:
        devices = [
            SimDevice(
                id=unit,
                simdata=SimData(address=0, count=BANK_SIZE, datatype=DataType.REGISTERS),
                action=functools.partial(self._serve_registers, unit),
            )
            for unit in self.banks
        ]
        self._server = ModbusTcpServer(devices, address=(self._host, self._requested_port))
        await self._server.serve_forever(background=True)
        listening = self._server.transport
        sockets = getattr(listening, "sockets", None)
        if not sockets:
            raise RuntimeError(
                f"Modbus server did not listen on {self._host}:{self._requested_port}"
            )
        self.port = int(sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None

    def write(self, unit: int, address: int, words: Iterable[int]) -> None:
        bank = self.banks[unit]
        for index, word in enumerate(words):
            bank[address + index] = word & 0xFFFF

    def write_float32(self, unit: int, address: int, value: float) -> None:
        self.write(unit, address, _words(struct.pack(">f", value)))

    def write_uint32(self, unit: int, address: int, value: int) -> None:
        self.write(unit, address, _words(struct.pack(">I", value)))

    def write_int32(self, unit: int, address: int, value: int) -> None:
        self.write(unit, address, _words(struct.pack(">i", value)))

    async def _serve_registers(
        self,
        unit: int,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        current_registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> None:
        """pymodbus calls this on every request; copy our bank into its registers."""
        bank = self.banks[unit]
        if set_values is not None:
            for index, value in enumerate(set_values):
                bank[address + index] = int(value) & 0xFFFF
        for index in range(count):
            current_registers[address - start_address + index] = bank[address + index]
        await asyncio.sleep(0)


def _words(packed: bytes) -> list[int]:
    return [int.from_bytes(packed[i : i + 2], "big") for i in range(0, len(packed), 2)]
