"""Real pymodbus servers whose registers and bits the caller owns.

Tests and the demo both need a Modbus device whose values they decide.
:class:`RegisterBankServer` serves, per unit, one register bank (holding and
input reads see the same bank, as many meters do, unless ``separate_input``
gives input registers a bank of their own) and two bit banks (coils and
discrete inputs), and lets the owner change them between reads. Like
many real meters it can be picky: refuse requests for more than
``max_registers`` registers (exception 3, illegal data value) and reads
that touch registers it leaves ``undefined`` (exception 2, illegal data
address). It listens on TCP; :class:`SerialRegisterBankServer` serves the same banks as
RTU on a serial port, every unit on one multi-drop line.
"""

from __future__ import annotations

import asyncio
import functools
import struct
from collections.abc import Iterable

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.server.base import ModbusBaseServer
from pymodbus.simulator import DataType, SimData, SimDevice

BANK_SIZE = 256
# Function codes (Modbus application protocol v1.1b3 §6) that touch each bit bank.
_COIL_CODES = frozenset({1, 5, 15})
_DISCRETE_CODES = frozenset({2})
_READ_INPUT = 4


class RegisterBankServer:
    """Modbus TCP server on ``host:port`` (port 0 picks a free one)."""

    def __init__(
        self,
        units: Iterable[int],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        max_registers: int | None = None,
        undefined: Iterable[range] = (),
        separate_input: bool = False,
    ) -> None:
        self.max_registers = max_registers
        self.undefined = frozenset(address for span in undefined for address in span)
        self.refused = 0  # requests answered with an exception, for tests to check
        self.banks: dict[int, list[int]] = {unit: [0] * BANK_SIZE for unit in units}
        self.input_banks: dict[int, list[int]] = (
            {unit: [0] * BANK_SIZE for unit in self.banks} if separate_input else self.banks
        )
        self.coils: dict[int, list[bool]] = {unit: [False] * BANK_SIZE for unit in self.banks}
        self.discrete_inputs: dict[int, list[bool]] = {
            unit: [False] * BANK_SIZE for unit in self.banks
        }
        self._host = host
        self._requested_port = port
        self._server: ModbusBaseServer | None = None
        self.port = port

    def _devices(self) -> list[SimDevice]:
        # Four separate blocks (coils, discrete inputs, holding, input) with bit
        # addressing, so coil N is bit N and not a bit inside register N.
        return [
            SimDevice(
                id=unit,
                simdata=(
                    [SimData(address=0, count=BANK_SIZE, datatype=DataType.BITS)],
                    [SimData(address=0, count=BANK_SIZE, datatype=DataType.BITS)],
                    [SimData(address=0, count=BANK_SIZE, datatype=DataType.REGISTERS)],
                    [SimData(address=0, count=BANK_SIZE, datatype=DataType.REGISTERS)],
                ),
                action=functools.partial(self._serve, unit),
            )
            for unit in self.banks
        ]

    async def start(self) -> None:
        server = ModbusTcpServer(self._devices(), address=(self._host, self._requested_port))
        self._server = server
        await server.serve_forever(background=True)
        sockets = getattr(server.transport, "sockets", None)
        if not sockets:
            raise RuntimeError(
                f"Modbus server did not listen on {self._host}:{self._requested_port}"
            )
        self.port = int(sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None

    def write(
        self, unit: int, address: int, words: Iterable[int], *, table: str = "holding"
    ) -> None:
        """Set registers of ``table`` (``holding`` or ``input``) from ``address``."""
        bank = (self.input_banks if table == "input" else self.banks)[unit]
        for index, word in enumerate(words):
            bank[address + index] = word & 0xFFFF

    def write_float32(self, unit: int, address: int, value: float) -> None:
        self.write(unit, address, _words(struct.pack(">f", value)))

    def write_uint32(self, unit: int, address: int, value: int) -> None:
        self.write(unit, address, _words(struct.pack(">I", value)))

    def write_int32(self, unit: int, address: int, value: int) -> None:
        self.write(unit, address, _words(struct.pack(">i", value)))

    def write_string(self, unit: int, address: int, text: str, registers: int) -> None:
        """``text`` as UTF-8, NUL-padded to ``registers`` registers."""
        data = text.encode("utf-8").ljust(registers * 2, b"\x00")[: registers * 2]
        self.write(unit, address, _words(data))

    async def _serve(
        self,
        unit: int,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        current_registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """pymodbus calls this on every request; copy our banks into its storage."""
        registers = function_code not in _COIL_CODES and function_code not in _DISCRETE_CODES
        if registers and self.max_registers is not None and count > self.max_registers:
            self.refused += 1
            return ExcCodes.ILLEGAL_VALUE
        if registers and self.undefined.intersection(range(address, address + count)):
            self.refused += 1
            return ExcCodes.ILLEGAL_ADDRESS
        if function_code in _COIL_CODES or function_code in _DISCRETE_CODES:
            bits = self.coils[unit] if function_code in _COIL_CODES else self.discrete_inputs[unit]
            # Bit requests arrive as ``count`` 16-bit registers from register address // 16.
            first = address // 16
            for index in range(count):
                chunk = bits[(first + index) * 16 : (first + index + 1) * 16]
                word = sum(1 << bit for bit, value in enumerate(chunk) if value)
                current_registers[first - start_address + index] = word
        else:
            bank = (self.input_banks if function_code == _READ_INPUT else self.banks)[unit]
            if set_values is not None:
                for index, value in enumerate(set_values):
                    bank[address + index] = int(value) & 0xFFFF
            for index in range(count):
                current_registers[address - start_address + index] = bank[address + index]
        await asyncio.sleep(0)
        return None


class SerialRegisterBankServer(RegisterBankServer):
    """The same banks served as Modbus RTU on serial port ``port`` (a tty or pty).

    Units not in ``units`` stay silent, as an absent drop on a real RS-485
    line does, so a client's request to one times out.
    """

    def __init__(self, units: Iterable[int], serial_port: str, *, baudrate: int = 19200) -> None:
        super().__init__(units)
        self.serial_port = serial_port
        self.baudrate = baudrate

    def _devices(self) -> list[SimDevice]:
        # A catch-all (id 0 in pymodbus's simulator) answers for absent units, so
        # they don't log a KeyError traceback per request; the answers are then
        # dropped by _silence_absent_units like any other for an absent unit.
        catch_all = SimDevice(
            id=0, simdata=SimData(address=0, count=BANK_SIZE, datatype=DataType.REGISTERS)
        )
        return [*super()._devices(), catch_all]

    async def start(self) -> None:
        server = ModbusSerialServer(
            self._devices(),
            port=self.serial_port,
            baudrate=self.baudrate,
            # pymodbus's simulator answers every unit whatever
            # ignore_missing_devices says; drop the answers for absent units.
            trace_packet=self._silence_absent_units,
        )
        self._server = server
        await server.serve_forever(background=True)

    def _silence_absent_units(self, sending: bool, packet: bytes) -> bytes:
        if sending and packet and packet[0] not in self.banks:
            return b""
        return packet


def _words(packed: bytes) -> list[int]:
    return [int.from_bytes(packed[i : i + 2], "big") for i in range(0, len(packed), 2)]
