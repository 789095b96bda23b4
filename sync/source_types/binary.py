"""Binary values and layouts: GATT characteristic values, binary serial frames.

A layout (:class:`~edgeward.sync.source_types.spec.BinaryField` list) reads
each field at its ``at`` byte, or right after the previous field that is
present: a field absent because of its ``when`` (a flags bit, as the GATT
Specification Supplement's optional fields are) takes no bytes. A frame too
short for a present field is refused as ``undecodable``; bytes after the last
field are ignored, because GATT values grow optional fields at their end.

Byte orders follow one definition for every transport (Modbus too, see
:mod:`~edgeward.sync.source_types.modbus`): split the value into 16-bit words,
A being the most significant byte. ``ABCD`` is big-endian; ``CDAB`` and
``DCBA`` reverse the word order; ``BADC`` and ``DCBA`` swap the two bytes of
each word. So ``DCBA`` is little-endian, and on a 16-bit value ``CDAB`` is
``ABCD``. A 24-bit value has no whole words: only ``ABCD`` and ``DCBA`` apply;
8-bit values, booleans and text have no order at all.

``medfloat16`` and ``medfloat32`` are the SFLOAT-Type and FLOAT-Type of
ISO/IEEE 11073-20601 (the GATT Specification Supplement's names for them):
a signed 4-bit (8-bit) exponent above a signed 12-bit (24-bit) mantissa,
value = mantissa x 10^exponent. Their special values
(NaN, NRes, +INF, -INF, reserved: exponent 0 with the mantissas listed
below) make the field absent, as a sensor saying "not known".
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Literal, NamedTuple

from edgeward.sync.errors import SpecError
from edgeward.sync.reports import ReportRejected
from edgeward.sync.source_types.conversions import Store, Value, Values, converter
from edgeward.sync.source_types.spec import BinaryField, ByteOrder

__all__ = [
    "BITS",
    "INTEGER_TYPES",
    "WIDTHS",
    "LayoutDecoder",
    "check_layout",
    "medfloat16",
    "medfloat32",
    "order_permutation",
    "text",
]

# Bytes each type takes; a string's come from its length or the rest of the frame.
WIDTHS: dict[str, int] = {
    "int8": 1,
    "uint8": 1,
    "bool": 1,
    "int16": 2,
    "uint16": 2,
    "medfloat16": 2,
    "int24": 3,
    "uint24": 3,
    "int32": 4,
    "uint32": 4,
    "float32": 4,
    "medfloat32": 4,
    "int64": 8,
    "uint64": 8,
    "float64": 8,
}
INTEGER_TYPES = frozenset(
    ("int8", "uint8", "int16", "uint16", "int24", "uint24", "int32", "uint32", "int64", "uint64")
)
# Bits of an integer type, for named bits and presence flags.
BITS = {name: WIDTHS[name] * 8 for name in INTEGER_TYPES}
# struct codes of the types struct reads whole (big-endian once reordered).
CODES = {
    "int8": "b",
    "uint8": "B",
    "int16": "h",
    "uint16": "H",
    "int32": "i",
    "uint32": "I",
    "int64": "q",
    "uint64": "Q",
    "float32": "f",
    "float64": "d",
    "medfloat16": "H",
    "medfloat32": "I",
}
FLOAT_TYPES = frozenset(("float32", "float64"))
_UNORDERED = frozenset(("int8", "uint8", "bool", "string"))
_THREE_BYTES = frozenset(("int24", "uint24"))

# ISO/IEEE 11073-20601 special values (exponent 0): NaN, NRes,
# +INF, -INF and the reserved value, as whole SFLOAT and FLOAT codes.
_SFLOAT_SPECIAL = frozenset((0x07FF, 0x0800, 0x07FE, 0x0802, 0x0801))
_FLOAT_SPECIAL = frozenset((0x007FFFFF, 0x00800000, 0x007FFFFE, 0x00800002, 0x00800001))


def order_permutation(size: int, order: ByteOrder) -> tuple[int, ...]:
    """Where each byte of the big-endian (ABCD) value sits in ``size`` bytes read in ``order``.

    Every order is its own inverse, so the same permutation also writes.
    A 3-byte value only reverses (DCBA); 1 byte never moves.
    """
    if size % 2:
        return tuple(range(size))[::-1] if order == "DCBA" and size > 1 else tuple(range(size))
    words = [(index, index + 1) for index in range(0, size, 2)]
    if order in ("CDAB", "DCBA"):
        words.reverse()
    if order in ("BADC", "DCBA"):
        words = [(low, high) for high, low in words]
    return tuple(index for word in words for index in word)


def _sfloat_exponent(raw: int, mantissa_bits: int) -> tuple[int, int]:
    mantissa = raw & ((1 << mantissa_bits) - 1)
    if mantissa >> (mantissa_bits - 1):
        mantissa -= 1 << mantissa_bits
    exponent = raw >> mantissa_bits
    exponent_bits = 4 if mantissa_bits == 12 else 8
    if exponent >> (exponent_bits - 1):
        exponent -= 1 << exponent_bits
    return mantissa, exponent


def _decimal(mantissa: int, exponent: int) -> float:
    # Python's int / int is correctly rounded, so 364 / 10 is the double nearest
    # 36.4 (what round(364 * 0.1, 1) gives), never 36.400000000000006.
    scale: int = 10 ** abs(exponent)
    return mantissa / scale if exponent < 0 else float(mantissa * scale)


def medfloat16(raw: int) -> float | None:
    """An SFLOAT (16 bits, ISO/IEEE 11073-20601) as a number; None for its special values."""
    if raw in _SFLOAT_SPECIAL:
        return None
    return _decimal(*_sfloat_exponent(raw, 12))


def medfloat32(raw: int) -> float | None:
    """A FLOAT (32 bits, ISO/IEEE 11073-20601) as a number; None for its special values."""
    if raw in _FLOAT_SPECIAL:
        return None
    return _decimal(*_sfloat_exponent(raw, 24))


def text(name: str, data: bytes) -> str:
    """Fixed-width text: a NUL ends it, trailing spaces are padding; UTF-8 or refused."""
    try:
        return data.split(b"\x00", 1)[0].rstrip(b" ").decode("utf-8")
    except UnicodeDecodeError:
        raise ReportRejected(
            "undecodable", f"field {name!r} is not UTF-8 text", field=name, value=data
        ) from None


# Reads a field's raw value from the frame's bytes start..end (None: absent).
Reader = Callable[[bytes, int, int], Value | None]


def _reader(name: str, kind: str, order: ByteOrder) -> Reader:
    """The function that turns the field's bytes into its raw value."""
    if kind == "string":
        return lambda frame, start, end: text(name, frame[start:end])
    if kind == "bool":
        return lambda frame, start, end: frame[start] != 0
    permutation = order_permutation(WIDTHS[kind], order)
    identity = permutation == tuple(range(len(permutation)))
    reverse = permutation == tuple(range(len(permutation)))[::-1]
    if kind in _THREE_BYTES:
        endian: Literal["big", "little"] = "big" if identity else "little"
        signed = kind == "int24"
        return lambda frame, start, end: int.from_bytes(frame[start:end], endian, signed=signed)
    read: Callable[[bytes, int, int], int | float]
    if identity or reverse:
        unpack_from = struct.Struct((">" if identity else "<") + CODES[kind]).unpack_from
        read = lambda frame, start, end: unpack_from(frame, start)[0]  # noqa: E731
    else:
        unpack = struct.Struct(">" + CODES[kind]).unpack
        shuffle = itemgetter(*permutation)
        read = lambda frame, start, end: unpack(bytes(shuffle(frame[start:end])))[0]  # noqa: E731
    if kind == "medfloat16":
        return lambda frame, start, end: medfloat16(int(read(frame, start, end)))
    if kind == "medfloat32":
        return lambda frame, start, end: medfloat32(int(read(frame, start, end)))
    return read


def _trivial(field: BinaryField) -> bool:
    """No conversion to apply: the raw value is stored as it is."""
    return (
        not field.unknown
        and field.lookup is None
        and not field.bits
        and field.scale == 1.0
        and field.offset == 0.0
    )


class _Field(NamedTuple):
    """A field compiled for decoding; a tuple, because decode unpacks one per field."""

    name: str
    at: int | None
    width: int | None  # None: a string to the end of the frame
    read: Reader
    store: Store | None  # None: stored as read
    integer: bool
    finite: bool  # IEEE floats: refuse NaN and infinities
    when: tuple[str, int, bool] | None


class LayoutDecoder:
    """Named values from a binary frame read by a layout (see the module docstring)."""

    def __init__(self, fields: Sequence[BinaryField], default_order: ByteOrder = "DCBA") -> None:
        check_layout(fields, "layout")
        compiled = []
        for index, field in enumerate(fields):
            order = field.order or default_order
            if field.type in _THREE_BYTES and order not in ("ABCD", "DCBA"):
                raise SpecError(
                    f"layout[{index}].order",
                    f"a 24-bit value is ABCD or DCBA, and the default order is {default_order}",
                )
            when = field.when
            compiled.append(
                _Field(
                    name=field.name,
                    at=field.at,
                    width=field.length if field.type == "string" else WIDTHS[field.type],
                    read=_reader(field.name, field.type, order),
                    store=None if _trivial(field) else converter(field.name, field),
                    integer=field.type in INTEGER_TYPES,
                    finite=field.type in FLOAT_TYPES,
                    when=None if when is None else (when.field, when.bit, when.set),
                )
            )
        self.fields = tuple(fields)
        self._fields = tuple(compiled)

    def decode(self, frame: bytes) -> Values:
        """The frame's values; raises :class:`ReportRejected` and nothing else."""
        values: Values = {}
        flags: dict[str, int] = {}
        size = len(frame)
        position = 0
        for name, at, width, read, store, integer, finite, when in self._fields:
            if when is not None:
                flag = flags.get(when[0])
                if flag is None or bool(flag >> when[1] & 1) is not when[2]:
                    continue
            start = position if at is None else at
            end = size if width is None else start + width
            if end > size or start > size:
                raise ReportRejected(
                    "undecodable",
                    f"frame has {size} bytes, field {name!r} needs {end}",
                    field=name,
                    value=frame,
                )
            raw = read(frame, start, end)
            position = end
            if integer:
                flags[name] = raw  # type: ignore[assignment]
            if raw is None:
                continue
            if finite and not math.isfinite(raw):  # type: ignore[arg-type]
                raise ReportRejected(
                    "out-of-range", f"field {name!r} is {raw}", field=name, value=raw
                )
            if store is None:
                values[name] = raw
            else:
                store(raw, values)
        return values


def check_layout(fields: Sequence[BinaryField], path: str) -> None:
    """Refuse a layout that can't be read as written; the SpecError names the key."""
    names: set[str] = set()
    earlier: dict[str, str] = {}  # field name -> type
    for index, field in enumerate(fields):
        here = f"{path}[{index}]"
        _check_names(field, here, names)
        _check_field(field, here, earlier)
        if field.type == "string" and field.length is None and index != len(fields) - 1:
            raise SpecError(
                f"{here}.length",
                "a string without length takes the rest of the frame: only the last field can",
            )
        earlier[field.name] = field.type
    _check_overlaps(fields, path)


def _check_names(field: BinaryField, here: str, names: set[str]) -> None:
    if field.name in names:
        raise SpecError(f"{here}.name", f"{field.name!r} is named twice")
    names.add(field.name)
    for position, part in enumerate(field.bits):
        if part.name in names:
            raise SpecError(f"{here}.bits[{position}].name", f"{part.name!r} is named twice")
        names.add(part.name)


def _check_field(field: BinaryField, here: str, earlier: dict[str, str]) -> None:
    kind = field.type
    if field.length is not None and kind != "string":
        raise SpecError(f"{here}.length", f"length is for strings; a {kind} has its own width")
    if field.order is not None:
        if kind in _UNORDERED:
            raise SpecError(f"{here}.order", f"a {kind} has no byte order")
        if kind in _THREE_BYTES and field.order not in ("ABCD", "DCBA"):
            raise SpecError(f"{here}.order", "a 24-bit value has no 16-bit words: ABCD or DCBA")
    if field.bits:
        if kind not in INTEGER_TYPES:
            raise SpecError(f"{here}.bits", f"bits are parts of an integer, not of a {kind}")
        for position, part in enumerate(field.bits):
            if part.bit >= BITS[kind]:
                raise SpecError(f"{here}.bits[{position}].bit", f"a {kind} has {BITS[kind]} bits")
            if part.bit + part.width > BITS[kind]:
                raise SpecError(
                    f"{here}.bits[{position}].width",
                    f"bits {part.bit}..{part.bit + part.width - 1} pass the {kind}'s {BITS[kind]}",
                )
    when = field.when
    if when is not None:
        flags = earlier.get(when.field)
        if flags not in INTEGER_TYPES:
            raise SpecError(
                f"{here}.when.field", f"{when.field!r} is not an integer field before this one"
            )
        if when.bit >= BITS[flags]:
            raise SpecError(
                f"{here}.when.bit", f"{when.field!r} is a {flags} of {BITS[flags]} bits"
            )


def _check_overlaps(fields: Sequence[BinaryField], path: str) -> None:
    """Fields at fixed positions must not share bytes, unless one flag bit picks one of them."""
    placed = []
    for index, field in enumerate(fields):
        if field.at is None:
            continue
        width = field.length if field.type == "string" else WIDTHS[field.type]
        end = field.at + width if width is not None else math.inf
        placed.append((field.at, end, index, field))
    placed.sort(key=lambda item: (item[0], item[2]))
    for position, (_, end, index, field) in enumerate(placed):
        for other_start, _, other_index, other in placed[position + 1 :]:
            if other_start >= end:
                break
            if _exclusive(field, other):
                continue
            later, first = max(index, other_index), min(index, other_index)
            raise SpecError(
                f"{path}[{later}].at",
                f"{fields[later].name!r} overlaps {fields[first].name!r} at byte {other_start}",
            )


def _exclusive(one: BinaryField, other: BinaryField) -> bool:
    """Never present together: the same flag bit, one when set and one when clear."""
    a, b = one.when, other.when
    return (
        a is not None and b is not None and (a.field, a.bit) == (b.field, b.bit) and a.set != b.set
    )
