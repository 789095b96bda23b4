"""One Modbus read, the same for every transport: issue it, bound it, translate it.

TCP and RTU share this so a block of coils or a string field reads the same
over either, and pymodbus errors become :mod:`edgeward.drivers.errors` in one
place.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

from pymodbus.exceptions import ModbusException

from edgeward.drivers.errors import DeviceProtocolError, DeviceUnavailable
from edgeward.drivers.modbus.blocks import Block, Table

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

_READERS = {
    Table.HOLDING: "read_holding_registers",
    Table.INPUT: "read_input_registers",
    Table.COIL: "read_coils",
    Table.DISCRETE_INPUT: "read_discrete_inputs",
}


class LinkBroken(DeviceUnavailable):
    """No answer in time: the caller should drop the connection and reopen it."""


async def read_block(
    client: Any, block: Block, unit: int, wait: float | None, origin: str
) -> bytes:
    """Read ``block`` from ``unit`` and return its bytes as a frame carries them.

    ``wait`` bounds the request; None leaves it to the client's own timeout
    (pymodbus times every response out after its ``timeout``, with retries
    off), which saves a timer per request (see bench/modbus_polls.py).
    Raises :class:`LinkBroken` on a timeout or I/O error, DeviceUnavailable on
    a retryable exception response and DeviceProtocolError on any other;
    each names ``origin`` and the block.
    """
    read = getattr(client, _READERS[block.table])
    try:
        if wait is None:
            response = await read(block.address, count=block.count, device_id=unit)
        else:
            # asyncio.timeout rather than wait_for: no extra task per request.
            async with asyncio.timeout(wait):
                response = await read(block.address, count=block.count, device_id=unit)
    except (TimeoutError, OSError, ModbusException) as exc:
        raise LinkBroken(f"no answer: {exc!r}", device=_where(origin, block)) from exc
    if response.isError():
        code = int(getattr(response, "exception_code", 0))
        meaning = EXCEPTION_CODES.get(code, "unknown exception code")
        message = f"exception {code:#04x} ({meaning})"
        if code in RETRYABLE_CODES:
            raise DeviceUnavailable(message, device=_where(origin, block))
        raise DeviceProtocolError(message, device=_where(origin, block), code=code)
    if block.table.is_bits:
        return _pack_bits(list(getattr(response, "bits", [])), block, origin)
    registers = getattr(response, "registers", [])
    if len(registers) != block.count:
        raise DeviceProtocolError(
            f"asked for {block.count} registers, got {len(registers)}",
            device=_where(origin, block),
        )
    return struct.pack(f">{block.count}H", *registers)


async def connect(client: Any, seconds: float, device: str, refused: str) -> None:
    """Connect a pymodbus client within ``seconds``, or close it and raise DeviceUnavailable.

    asyncio.timeout, not wait_for: on 3.11 wait_for can turn a cancellation
    racing its timeout into TimeoutError (gh-86296), leaving a task that never stops.
    """
    try:
        async with asyncio.timeout(seconds):
            connected = await client.connect()
    except (TimeoutError, OSError, ModbusException) as exc:
        client.close()
        raise DeviceUnavailable(f"cannot connect: {exc!r}", device=device) from exc
    if not connected:
        client.close()
        raise DeviceUnavailable(refused, device=device)


def _where(origin: str, block: Block) -> str:
    # Built only when something failed: polls that succeed pay for no formatting.
    return f"{origin} {block.table} {block.address}+{block.count}"


def _pack_bits(bits: list[bool], block: Block, origin: str) -> bytes:
    # pymodbus pads the answer to whole bytes; fewer bits than asked is a short frame.
    if len(bits) < block.count:
        raise DeviceProtocolError(
            f"asked for {block.count} bits, got {len(bits)}", device=_where(origin, block)
        )
    packed = bytearray(block.size)
    for index in range(block.count):
        if bits[index]:
            packed[index // 8] |= 1 << (index % 8)
    return bytes(packed)
