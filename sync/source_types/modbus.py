"""Modbus register maps: planned into read requests, and decoded from the frame those reads make.

A :class:`~edgeward.sync.source_types.spec.ModbusDecoder` is planned once
into :class:`Block` reads: contiguous items of one table, joined while a
request stays within the device's ``requests.max_registers`` (coils and
discrete inputs: ``max_bits``; the protocol's own limits are 125 registers
and 2000 bits, Modbus Application Protocol v1.1b3 §6.1-§6.4) and reads
across at most ``requests.max_gap`` registers no field uses (many meters
refuse a read of a register they don't define: ``max_gap = 0``).

A poll returns the blocks' bytes concatenated in plan order, as on the
wire: registers as big-endian 16-bit words, bits packed eight to a byte
with the lowest address in the least significant bit (§6.1), each bit block
padded to whole bytes. Both sides plan alike, so the frame needs no header.

Values follow :mod:`~edgeward.sync.source_types.binary`'s byte-order
definition; a string is ``count`` registers of text read in address order
(``BADC`` swaps the two bytes of each register, as some meters store text).
Decoding is one permutation (only when some field isn't ABCD) and one
precompiled :class:`struct.Struct` over the whole frame: this runs for
every poll of every meter the gateway admits.
"""

from __future__ import annotations

import struct
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from math import isfinite
from operator import itemgetter
from typing import Any

from edgeward.sync.errors import SpecError
from edgeward.sync.reports import ReportRejected
from edgeward.sync.source_types.binary import BITS, CODES, order_permutation, text
from edgeward.sync.source_types.conversions import Store, Values, converter
from edgeward.sync.source_types.spec import (
    Conversions,
    ModbusDecoder,
    ModbusRequests,
    Register,
)

__all__ = ["Block", "RegisterPlan", "check_registers"]

TABLES = ("holding", "input", "coil", "discrete_input")
BIT_TABLES = frozenset(("coil", "discrete_input"))
# Registers each type spans (a string's are its count; a bool is one coil).
REGISTERS = {
    "int16": 1,
    "uint16": 1,
    "int32": 2,
    "uint32": 2,
    "float32": 2,
    "int64": 4,
    "uint64": 4,
    "float64": 4,
    "bool": 1,
}
INTEGER_TYPES = frozenset(("int16", "uint16", "int32", "uint32", "int64", "uint64"))
FLOAT_TYPES = frozenset(("float32", "float64"))


@dataclass(frozen=True, slots=True)
class Block:
    """One read request: ``count`` registers (or bits) of ``table`` from ``address``."""

    table: str
    address: int
    count: int

    @property
    def size(self) -> int:
        """Bytes this block adds to a frame."""
        return (self.count + 7) // 8 if self.table in BIT_TABLES else self.count * 2


def _width(register: Register) -> int:
    """Items of its table the register spans: registers, or one bit."""
    if register.type == "string":
        return register.count or 0
    return REGISTERS[register.type]


def _plan(registers: Sequence[Register], requests: ModbusRequests) -> tuple[Block, ...]:
    planned: list[Block] = []
    for table in TABLES:
        limit = requests.max_bits if table in BIT_TABLES else requests.max_registers
        start = end = -1
        for register in sorted((r for r in registers if r.table == table), key=_address):
            stop = register.address + _width(register)
            joins = (
                start >= 0
                and register.address - end <= requests.max_gap
                and max(end, stop) - start <= limit
            )
            if joins:
                end = max(end, stop)
                continue
            if start >= 0:
                planned.append(Block(table, start, end - start))
            start, end = register.address, stop
        if start >= 0:
            planned.append(Block(table, start, end - start))
    return tuple(planned)


def _address(register: Register) -> int:
    return register.address


def _locate(registers: Sequence[Register], blocks: Sequence[Block]) -> list[tuple[Register, int]]:
    """Each register with where it starts in a frame: a byte offset, or a bit offset
    for coils and discrete inputs. A table's blocks are planned in address order,
    so the block holding a register is the last one starting at or before it."""
    starts: dict[str, list[int]] = {table: [] for table in TABLES}
    placed: dict[str, list[tuple[Block, int]]] = {table: [] for table in TABLES}
    offset = 0
    for block in blocks:
        starts[block.table].append(block.address)
        placed[block.table].append((block, offset))
        offset += block.size
    located: list[tuple[Register, int]] = []
    for register in registers:
        block, base = placed[register.table][
            bisect_right(starts[register.table], register.address) - 1
        ]
        relative = register.address - block.address
        bits = register.table in BIT_TABLES
        located.append((register, base * 8 + relative if bits else base + relative * 2))
    return located


def _trivial(conversions: Conversions) -> bool:
    return (
        not conversions.unknown
        and conversions.lookup is None
        and not conversions.bits
        and conversions.scale == 1.0
        and conversions.offset == 0.0
    )


def _picker(indices: Sequence[int]) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    """A tuple of the values at ``indices`` (itemgetter returns a bare value for one index)."""
    if len(indices) == 1:
        only = indices[0]
        return lambda row: (row[only],)
    if not indices:
        return lambda row: ()
    return itemgetter(*indices)


class RegisterPlan:
    """A Modbus decoder planned into reads, and the decoder of the frames they return."""

    def __init__(self, decoder: ModbusDecoder) -> None:
        check_registers(decoder, "decoder")
        self.decoder = decoder
        self.blocks = _plan(decoder.registers, decoder.requests)
        self.pause = decoder.requests.pause
        self.frame_size = sum(block.size for block in self.blocks)
        located = _locate(decoder.registers, self.blocks)
        words = sorted(
            ((offset, r) for r, offset in located if r.table not in BIT_TABLES),
            key=lambda item: item[0],
        )
        self._struct = self._layout(words)
        plain = [i for i, (_, r) in enumerate(words) if r.type != "string" and _trivial(r)]
        simple = frozenset(plain)
        floats = [i for i in plain if words[i][1].type in FLOAT_TYPES]
        self._plain_names = tuple(words[i][1].name for i in plain)
        self._plain = _picker(plain)
        self._floats = _picker(floats) if floats else None
        self._converted = tuple(
            (i, r.name, r.type == "string", r.type in FLOAT_TYPES, converter(r.name, r))
            for i, (_, r) in enumerate(words)
            if i not in simple
        )
        self._words = tuple(r.name for _, r in words)
        self._bits: tuple[tuple[int, int, str, Store | None], ...] = tuple(
            (offset // 8, 1 << offset % 8, r.name, None if _trivial(r) else converter(r.name, r))
            for r, offset in located
            if r.table in BIT_TABLES
        )

    def _layout(self, words: Iterable[tuple[int, Register]]) -> struct.Struct:
        """One big-endian Struct over the frame, and the permutation (if any) that first
        puts every value in ABCD order."""
        pieces, position = [">"], 0
        permutation = list(range(self.frame_size))
        for offset, register in words:
            size = 2 * _width(register)
            if offset > position:
                pieces.append(f"{offset - position}x")
            pieces.append(f"{size}s" if register.type == "string" else CODES[register.type])
            position = offset + size
            for index, source in enumerate(order_permutation(size, register.order)):
                permutation[offset + index] = offset + source
        identity = permutation == list(range(self.frame_size))
        self._shuffle = None if identity else itemgetter(*permutation)
        return struct.Struct("".join(pieces))

    def decode(self, frame: bytes, origin: str = "") -> Values:
        """Named values from a frame the plan's reads produced; raises only ReportRejected.

        ``origin`` is not read (a frame decodes the same from any unit); taking it
        makes the method a :data:`~edgeward.sync.source_types.decoders.Decoder`
        without a wrapper call on the admission hot path."""
        if len(frame) != self.frame_size:
            raise ReportRejected(
                "undecodable",
                f"frame has {len(frame)} bytes, the register plan reads {self.frame_size}",
                value=frame,
            )
        data = frame if self._shuffle is None else bytes(self._shuffle(frame))
        raw = self._struct.unpack_from(data)
        values: Values = dict(zip(self._plain_names, self._plain(raw), strict=True))
        if self._floats is not None and not all(map(isfinite, self._floats(raw))):
            self._refuse_nonfinite(raw)
        for index, name, is_text, is_float, store in self._converted:
            value = raw[index]
            if is_text:
                value = text(name, value)
            elif is_float and not isfinite(value):
                self._refuse_nonfinite(raw)
            store(value, values)
        for byte, mask, name, bit_store in self._bits:
            bit = frame[byte] & mask != 0
            if bit_store is None:
                values[name] = bit
            else:
                bit_store(bit, values)
        return values

    def _refuse_nonfinite(self, raw: tuple[Any, ...]) -> None:
        for name, value in zip(self._words, raw, strict=True):
            if isinstance(value, float) and not isfinite(value):
                raise ReportRejected(
                    "out-of-range", f"field {name!r} is {value}", field=name, value=value
                )


def check_registers(decoder: ModbusDecoder, path: str) -> None:
    """Refuse a register map that can't be read or decoded as written; names the key."""
    names: set[str] = set()
    spans: dict[str, list[tuple[int, int, int]]] = {table: [] for table in TABLES}
    for index, register in enumerate(decoder.registers):
        here = f"{path}.registers[{index}]"
        _check_names(register, here, names)
        _check_register(register, here, decoder.requests)
        spans[register.table].append((register.address, register.address + _width(register), index))
    for table, items in spans.items():
        items.sort()
        furthest = (-1, -1)  # (end, index) of the field reaching furthest so far
        for start, end, index in items:
            if start < furthest[0]:
                other = decoder.registers[furthest[1]].name
                raise SpecError(
                    f"{path}.registers[{index}].address",
                    f"{decoder.registers[index].name!r} overlaps {other!r} in {table} registers",
                )
            furthest = max(furthest, (end, index))


def _check_names(register: Register, here: str, names: set[str]) -> None:
    if register.name in names:
        raise SpecError(f"{here}.name", f"{register.name!r} is named twice")
    names.add(register.name)
    for position, part in enumerate(register.bits):
        if part.name in names:
            raise SpecError(f"{here}.bits[{position}].name", f"{part.name!r} is named twice")
        names.add(part.name)


def _check_register(register: Register, here: str, requests: ModbusRequests) -> None:
    kind, table = register.type, register.table
    if (kind == "bool") != (table in BIT_TABLES):
        raise SpecError(
            f"{here}.type",
            f"coils and discrete inputs hold bool values, and only they do ({kind} in {table})",
        )
    if kind == "string":
        if register.count is None:
            raise SpecError(f"{here}.count", "a string needs its count of registers")
        if register.order in ("CDAB", "DCBA"):
            raise SpecError(
                f"{here}.order", "text is read in register order: ABCD, or BADC (bytes swapped)"
            )
    elif register.count is not None:
        raise SpecError(f"{here}.count", f"count is for strings; a {kind} has its own width")
    if register.bits:
        if kind not in INTEGER_TYPES:
            raise SpecError(f"{here}.bits", f"bits are parts of an integer, not of a {kind}")
        for position, part in enumerate(register.bits):
            if part.bit + part.width > BITS[kind]:
                key = "bit" if part.bit >= BITS[kind] else "width"
                raise SpecError(f"{here}.bits[{position}].{key}", f"a {kind} has {BITS[kind]} bits")
    width = _width(register)
    if table not in BIT_TABLES and width > requests.max_registers:
        raise SpecError(
            f"{here}.count" if kind == "string" else f"{here}.type",
            f"{width} registers, more than requests.max_registers ({requests.max_registers}) "
            "allows in one read: it could never be read",
        )
    if register.address + width > 65536:
        raise SpecError(f"{here}.address", "registers lie in 0..65535")
