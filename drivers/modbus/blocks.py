"""What one Modbus read request asks for, and the protocol's limits on it.

A device's data-source type plans its register map into blocks (the
gateway hands them to the driver); the driver only issues them. A poll
returns the blocks' bytes concatenated as on the wire: registers as
big-endian words, bits packed eight to a byte, lowest address in the least
significant bit (Modbus application protocol v1.1b3 §6.1), each bit block
padded to whole bytes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

# Modbus application protocol v1.1b3 §6.3/§6.4 (registers) and §6.1/§6.2 (bits).
MAX_REGISTERS_PER_READ = 125
MAX_BITS_PER_READ = 2000


class Table(enum.StrEnum):
    HOLDING = "holding"
    INPUT = "input"
    COIL = "coil"
    DISCRETE_INPUT = "discrete_input"

    @property
    def is_bits(self) -> bool:
        return self in (Table.COIL, Table.DISCRETE_INPUT)

    @property
    def max_per_read(self) -> int:
        return MAX_BITS_PER_READ if self.is_bits else MAX_REGISTERS_PER_READ


@dataclass(frozen=True, slots=True)
class Block:
    """One read request: ``count`` registers (or bits) of ``table`` from ``address``."""

    table: Table
    address: int
    count: int

    @property
    def size(self) -> int:
        """Bytes this block adds to a frame."""
        return (self.count + 7) // 8 if self.table.is_bits else self.count * 2
