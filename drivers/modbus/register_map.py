"""Register maps: which registers a Modbus device is read at, and how to decode them.

A map is planned once into :class:`Block` reads (contiguous items of one
table: at most 125 registers per request, Modbus application protocol v1.1b3
§6.3/§6.4, and at most 2000 coils or discrete inputs, §6.1/§6.2). A poll
returns the blocks' bytes concatenated as on the wire: registers as
big-endian words, bits packed eight to a byte, lowest address in the least
significant bit (§6.1), each bit block padded to whole bytes.
:meth:`RegisterMap.decode` turns those bytes into named values. Both sides
use the same plan, so the frame needs no header.
"""

from __future__ import annotations

import decimal
import enum
import itertools
import math
import struct
from dataclasses import dataclass
from functools import cached_property

from edgeward.drivers.errors import DeviceProtocolError, DriverConfigError
from edgeward.drivers.modbus.blocks import MAX_REGISTERS_PER_READ, Block, Table

# Longest string field: one read's worth of registers.
MAX_STRING_REGISTERS = MAX_REGISTERS_PER_READ
# Registers between two fields that are still worth reading in one request
# rather than paying for a second round trip.
MAX_GAP = 8


class ValueType(enum.StrEnum):
    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    # One coil or discrete input.
    BOOL = "bool"
    # ``count`` registers of text, two bytes each; trailing NULs and spaces dropped.
    STRING = "string"

    @property
    def registers(self) -> int:
        """Registers a value of this type spans (a string's come from its field)."""
        return _STRUCT[self][1] // 2 if self in _STRUCT else 1

    @property
    def is_integer(self) -> bool:
        return self in _STRUCT and self not in (ValueType.FLOAT32, ValueType.FLOAT64)


_STRUCT: dict[ValueType, tuple[str, int]] = {
    ValueType.INT16: ("h", 2),
    ValueType.UINT16: ("H", 2),
    ValueType.INT32: ("i", 4),
    ValueType.UINT32: ("I", 4),
    ValueType.FLOAT32: ("f", 4),
    ValueType.FLOAT64: ("d", 8),
}


class Order(enum.StrEnum):
    BIG = "big"
    LITTLE = "little"


@dataclass(frozen=True, slots=True)
class RegisterField:
    """One named value: where it lives and how its registers become a number.

    ``word_order`` orders the 16-bit registers of a multi-register value
    (many meters put the low word first); ``byte_order`` orders the two bytes
    inside each register. ``value = raw * scale + offset`` for numbers.
    ``count`` is the length in registers of a ``string`` field and must be
    left unset for every other type. ``bool`` fields live in the ``coil`` and
    ``discrete_input`` tables, and only they do.
    """

    name: str
    address: int
    type: ValueType
    table: Table = Table.HOLDING
    word_order: Order = Order.BIG
    byte_order: Order = Order.BIG
    scale: float = 1.0
    offset: float = 0.0
    count: int | None = None

    @property
    def width(self) -> int:
        """Items of its table the field spans: bits for bit tables, else registers."""
        if self.type is ValueType.STRING:
            return self.count or 0
        return self.type.registers

    @property
    def end(self) -> int:
        return self.address + self.width

    def check(self) -> None:
        """Raise DriverConfigError when the type, table and count don't fit together."""
        name = repr(self.name)
        if (self.type is ValueType.BOOL) != self.table.is_bits:
            raise DriverConfigError(
                f"field {name}: type bool belongs in the coil or discrete_input table, "
                f"and only bool does (got {self.type} in {self.table})"
            )
        if self.type is ValueType.STRING:
            if self.count is None or not 1 <= self.count <= MAX_STRING_REGISTERS:
                raise DriverConfigError(
                    f"field {name}: a string needs a count of 1 to {MAX_STRING_REGISTERS} registers"
                )
        elif self.count is not None:
            raise DriverConfigError(f"field {name}: count applies to string fields only")

    def decode(self, words: bytes) -> int | float | str:
        """Decode this field's registers (2 bytes each, as on the wire)."""
        registers = [words[i : i + 2] for i in range(0, len(words), 2)]
        if self.byte_order is Order.LITTLE:
            registers = [register[::-1] for register in registers]
        if self.type is ValueType.STRING:
            return self._text(b"".join(registers))
        if self.word_order is Order.LITTLE:
            registers.reverse()
        code, _ = _STRUCT[self.type]
        (value,) = struct.unpack(">" + code, b"".join(registers))
        if self.scale == 1.0 and self.offset == 0.0:
            result = value
        elif self.type.is_integer:
            # A scaled integer register is fixed-point: 4998 * 0.01 is 49.98, not
            # 49.980000000000004, so round to the decimals the scale and offset carry.
            result = round(value * self.scale + self.offset, _decimals(self.scale, self.offset))
        else:
            result = value * self.scale + self.offset
        if isinstance(result, float) and not math.isfinite(result):
            raise DeviceProtocolError(
                f"field {self.name!r} decodes to {result}, not a number",
                field=self.name,
                value=result,
            )
        return result  # type: ignore[no-any-return]

    def _text(self, data: bytes) -> str:
        # Devices pad fixed-width text with NULs or spaces; a NUL ends C strings.
        text = data.split(b"\x00", 1)[0].rstrip(b" ")
        try:
            return text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DeviceProtocolError(
                f"field {self.name!r} is not UTF-8 text: {exc}", field=self.name, value=text
            ) from exc


def _decimals(*numbers: float) -> int:
    places = 0
    for number in numbers:
        exponent = decimal.Decimal(repr(number)).as_tuple().exponent
        if isinstance(exponent, int):
            places = max(places, -exponent)
    return min(places, 12)


class RegisterMap:
    """A device's fields, planned into as few reads as the protocol allows."""

    def __init__(self, fields: list[RegisterField] | tuple[RegisterField, ...]) -> None:
        if not fields:
            raise DriverConfigError("a register map needs at least one field")
        self.fields = tuple(fields)
        self._check()

    def _check(self) -> None:
        names: set[str] = set()
        for register_field in self.fields:
            register_field.check()
            if register_field.name in names:
                raise DriverConfigError(f"field {register_field.name!r} is defined twice")
            names.add(register_field.name)
            if not register_field.address >= 0 or register_field.end > 65536:
                raise DriverConfigError(
                    f"field {register_field.name!r}: registers must lie in 0..65535"
                )
        for table in Table:
            ordered = sorted((f for f in self.fields if f.table is table), key=lambda f: f.address)
            for before, after in itertools.pairwise(ordered):
                if after.address < before.end:
                    raise DriverConfigError(
                        f"fields {before.name!r} and {after.name!r} overlap in {table} registers"
                    )

    @cached_property
    def blocks(self) -> tuple[Block, ...]:
        planned: list[Block] = []
        for table in Table:
            ordered = sorted((f for f in self.fields if f.table is table), key=lambda f: f.address)
            start = end = -1
            for register_field in ordered:
                joins = (
                    start >= 0
                    and register_field.address - end <= MAX_GAP
                    and register_field.end - start <= table.max_per_read
                )
                if joins:
                    end = max(end, register_field.end)
                    continue
                if start >= 0:
                    planned.append(Block(table, start, end - start))
                start, end = register_field.address, register_field.end
            if start >= 0:
                planned.append(Block(table, start, end - start))
        return tuple(planned)

    @cached_property
    def frame_size(self) -> int:
        return sum(block.size for block in self.blocks)

    @cached_property
    def _offsets(self) -> tuple[tuple[RegisterField, int], ...]:
        """Each field with where it starts in a frame: a byte offset for a
        register field, a bit offset for a bit field."""
        located: list[tuple[RegisterField, int]] = []
        block_offset = 0
        for block in self.blocks:
            for register_field in self.fields:
                inside = (
                    register_field.table is block.table
                    and block.address <= register_field.address
                    and register_field.end <= block.address + block.count
                )
                if not inside:
                    continue
                relative = register_field.address - block.address
                if block.table.is_bits:
                    located.append((register_field, block_offset * 8 + relative))
                else:
                    located.append((register_field, block_offset + relative * 2))
            block_offset += block.size
        return tuple(located)

    def decode(self, frame: bytes) -> dict[str, int | float | bool | str]:
        """Named values from a frame that :meth:`blocks` reads produced."""
        if len(frame) != self.frame_size:
            raise DeviceProtocolError(
                f"frame has {len(frame)} bytes, the register map needs {self.frame_size}"
            )
        values: dict[str, int | float | bool | str] = {}
        for register_field, offset in self._offsets:
            if register_field.table.is_bits:
                values[register_field.name] = bool(frame[offset // 8] >> (offset % 8) & 1)
            else:
                values[register_field.name] = register_field.decode(
                    frame[offset : offset + register_field.width * 2]
                )
        return values
