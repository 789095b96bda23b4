"""Register maps: exact decoding of every value type, and the block plan."""

from __future__ import annotations

import math
import struct

import pytest

from edgeward.drivers.errors import DeviceProtocolError, DriverConfigError
from edgeward.drivers.modbus.register_map import (
    MAX_GAP,
    MAX_REGISTERS_PER_READ,
    Block,
    Order,
    RegisterField,
    RegisterMap,
    Table,
    ValueType,
)

# (type, struct code, a value the type carries exactly and whose bytes are all different)
EXACT = [
    (ValueType.INT16, "h", -12_345),
    (ValueType.UINT16, "H", 0xBEEF),
    (ValueType.INT32, "i", -123_456_789),
    (ValueType.UINT32, "I", 4_000_000_123),
    (ValueType.FLOAT32, "f", 231.25),
    (ValueType.FLOAT64, "d", -1234.5678901234),
]


def swap_words(frame: bytes) -> bytes:
    words = [frame[i : i + 2] for i in range(0, len(frame), 2)]
    return b"".join(reversed(words))


def swap_bytes(frame: bytes) -> bytes:
    return b"".join(frame[i : i + 2][::-1] for i in range(0, len(frame), 2))


@pytest.mark.parametrize(("value_type", "code", "value"), EXACT, ids=[t for t, _, _ in EXACT])
def test_each_type_decodes_exactly(value_type: ValueType, code: str, value: float) -> None:
    register_map = RegisterMap([RegisterField("x", 0, value_type)])
    frame = struct.pack(">" + code, value)
    assert register_map.frame_size == len(frame) == value_type.registers * 2
    decoded = register_map.decode(frame)["x"]
    assert decoded == value
    assert type(decoded) is (int if value_type.is_integer else float)


@pytest.mark.parametrize(
    ("value_type", "frame", "expected"),
    [
        (ValueType.INT16, b"\xff\xff", -1),
        (ValueType.UINT16, b"\xff\xff", 65535),
        (ValueType.INT16, b"\x80\x00", -32768),
        (ValueType.INT32, b"\xff\xff\xff\xfe", -2),
        (ValueType.UINT32, b"\xff\xff\xff\xfe", 4_294_967_294),
        (ValueType.INT32, b"\x80\x00\x00\x00", -(2**31)),
    ],
)
def test_signedness(value_type: ValueType, frame: bytes, expected: int) -> None:
    assert RegisterMap([RegisterField("x", 0, value_type)]).decode(frame) == {"x": expected}


@pytest.mark.parametrize(
    ("value_type", "code", "value"),
    [e for e in EXACT if e[0].registers > 1],
    ids=[t for t, _, _ in EXACT if t.registers > 1],
)
def test_word_order_little(value_type: ValueType, code: str, value: float) -> None:
    field = RegisterField("x", 0, value_type, word_order=Order.LITTLE)
    frame = swap_words(struct.pack(">" + code, value))
    assert RegisterMap([field]).decode(frame)["x"] == value
    # Read big-endian, the same frame is something else: the option matters.
    assert RegisterMap([RegisterField("x", 0, value_type)]).decode(frame)["x"] != value


@pytest.mark.parametrize(("value_type", "code", "value"), EXACT, ids=[t for t, _, _ in EXACT])
def test_byte_order_little(value_type: ValueType, code: str, value: float) -> None:
    field = RegisterField("x", 0, value_type, byte_order=Order.LITTLE)
    frame = swap_bytes(struct.pack(">" + code, value))
    assert RegisterMap([field]).decode(frame)["x"] == value


@pytest.mark.parametrize(("value_type", "code", "value"), EXACT, ids=[t for t, _, _ in EXACT])
def test_both_orders_little_is_little_endian(
    value_type: ValueType, code: str, value: float
) -> None:
    field = RegisterField("x", 0, value_type, word_order=Order.LITTLE, byte_order=Order.LITTLE)
    assert RegisterMap([field]).decode(struct.pack("<" + code, value))["x"] == value


def test_word_order_little_with_concrete_words() -> None:
    # 0x00010002 with the low word first: registers [0x0002, 0x0001].
    field = RegisterField("x", 0, ValueType.UINT32, word_order=Order.LITTLE)
    assert RegisterMap([field]).decode(b"\x00\x02\x00\x01") == {"x": 0x0001_0002}


def test_byte_order_little_with_concrete_bytes() -> None:
    field = RegisterField("x", 0, ValueType.UINT16, byte_order=Order.LITTLE)
    assert RegisterMap([field]).decode(b"\x34\x12") == {"x": 0x1234}


# --- scale and offset ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value_type", "code", "raw", "scale", "offset", "expected"),
    [
        (ValueType.UINT16, "H", 4998, 0.01, 0.0, 49.98),
        (ValueType.UINT16, "H", 5001, 0.01, 0.0, 50.01),
        (ValueType.UINT16, "H", 3, 0.1, 0.0, 0.3),
        (ValueType.INT16, "h", -1234, 0.1, 0.0, -123.4),
        (ValueType.UINT16, "H", 1, 0.1, -40.0, -39.9),
        (ValueType.UINT16, "H", 7, 1.0, 0.25, 7.25),
        (ValueType.UINT32, "I", 4_000_000_123, 0.001, 0.0, 4_000_000.123),
        (ValueType.INT32, "i", -7, 0.07, 0.0, -0.49),
        (ValueType.UINT16, "H", 12, 2.0, 1.0, 25.0),
    ],
)
def test_scaled_integers_are_exact_fixed_point(
    value_type: ValueType, code: str, raw: int, scale: float, offset: float, expected: float
) -> None:
    field = RegisterField("x", 0, value_type, scale=scale, offset=offset)
    decoded = RegisterMap([field]).decode(struct.pack(">" + code, raw))["x"]
    assert decoded == expected  # exact, not approx: 49.98, never 49.980000000000004


def test_scaled_float_is_scaled() -> None:
    field = RegisterField("x", 0, ValueType.FLOAT32, scale=0.5, offset=-100.0)
    assert RegisterMap([field]).decode(struct.pack(">f", 231.25)) == {"x": 15.625}


def test_unscaled_integer_stays_an_integer() -> None:
    decoded = RegisterMap([RegisterField("x", 0, ValueType.UINT16)]).decode(b"\x00\x07")["x"]
    assert decoded == 7 and type(decoded) is int


# --- refused frames ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value_type", "frame"),
    [
        (ValueType.FLOAT32, struct.pack(">f", math.nan)),
        (ValueType.FLOAT32, b"\x7f\xc0\x00\x01"),  # a NaN with a payload
        (ValueType.FLOAT32, struct.pack(">f", math.inf)),
        (ValueType.FLOAT32, struct.pack(">f", -math.inf)),
        (ValueType.FLOAT64, struct.pack(">d", math.nan)),
        (ValueType.FLOAT64, struct.pack(">d", math.inf)),
    ],
)
def test_non_finite_floats_raise_protocol_error(value_type: ValueType, frame: bytes) -> None:
    register_map = RegisterMap([RegisterField("x", 0, value_type)])
    with pytest.raises(DeviceProtocolError, match="'x'"):
        register_map.decode(frame)


def test_nan_with_little_word_order_raises_too() -> None:
    field = RegisterField("x", 0, ValueType.FLOAT32, word_order=Order.LITTLE)
    with pytest.raises(DeviceProtocolError):
        RegisterMap([field]).decode(swap_words(struct.pack(">f", math.nan)))


def test_scaling_never_produces_a_non_finite_value() -> None:
    # A finite float64 scaled past the float range must not come out as inf: the
    # outbox and the wire both refuse non-finite numbers.
    field = RegisterField("x", 0, ValueType.FLOAT64, scale=10.0)
    with pytest.raises(DeviceProtocolError):
        RegisterMap([field]).decode(struct.pack(">d", 1e308))


@pytest.mark.parametrize("length", [0, 2, 3, 5, 6, 8])
def test_wrong_frame_length_raises_protocol_error(length: int) -> None:
    register_map = RegisterMap(
        [RegisterField("a", 0, ValueType.UINT16), RegisterField("b", 1, ValueType.UINT16)]
    )
    assert register_map.frame_size == 4
    with pytest.raises(DeviceProtocolError, match="4"):
        register_map.decode(bytes(length))


# --- refused maps --------------------------------------------------------------------


def test_empty_map_is_a_config_error() -> None:
    with pytest.raises(DriverConfigError):
        RegisterMap([])
    with pytest.raises(DriverConfigError):
        RegisterMap(())


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (RegisterField("a", 0, ValueType.FLOAT32), RegisterField("b", 1, ValueType.UINT16)),
        (RegisterField("a", 10, ValueType.UINT16), RegisterField("b", 10, ValueType.INT16)),
        (RegisterField("a", 0, ValueType.FLOAT64), RegisterField("b", 3, ValueType.UINT32)),
        (RegisterField("a", 5, ValueType.UINT16), RegisterField("b", 4, ValueType.UINT32)),
        (
            RegisterField("a", 0, ValueType.UINT32, table=Table.INPUT),
            RegisterField("b", 1, ValueType.UINT16, table=Table.INPUT),
        ),
    ],
)
def test_overlapping_fields_are_a_config_error(first: RegisterField, second: RegisterField) -> None:
    with pytest.raises(DriverConfigError, match="overlap"):
        RegisterMap([first, second])
    with pytest.raises(DriverConfigError, match="overlap"):
        RegisterMap([second, first])


def test_overlap_is_found_among_unsorted_fields() -> None:
    fields = [
        RegisterField("c", 40, ValueType.UINT16),
        RegisterField("a", 0, ValueType.UINT16),
        RegisterField("b", 39, ValueType.UINT32),
    ]
    with pytest.raises(DriverConfigError, match="overlap"):
        RegisterMap(fields)


def test_same_address_in_different_tables_is_fine() -> None:
    register_map = RegisterMap(
        [
            RegisterField("h", 0, ValueType.UINT32, table=Table.HOLDING),
            RegisterField("i", 0, ValueType.UINT32, table=Table.INPUT),
        ]
    )
    assert register_map.blocks == (Block(Table.HOLDING, 0, 2), Block(Table.INPUT, 0, 2))


def test_adjacent_fields_do_not_overlap() -> None:
    register_map = RegisterMap(
        [RegisterField("a", 0, ValueType.FLOAT64), RegisterField("b", 4, ValueType.UINT16)]
    )
    assert register_map.blocks == (Block(Table.HOLDING, 0, 5),)


@pytest.mark.parametrize(
    "fields",
    [
        [RegisterField("v", 0, ValueType.UINT16), RegisterField("v", 5, ValueType.UINT16)],
        [
            RegisterField("v", 0, ValueType.UINT16),
            RegisterField("v", 0, ValueType.UINT16, table=Table.INPUT),
        ],
    ],
    ids=["same-table", "other-table"],
)
def test_duplicate_names_are_a_config_error(fields: list[RegisterField]) -> None:
    with pytest.raises(DriverConfigError, match="'v'"):
        RegisterMap(fields)


@pytest.mark.parametrize(
    "field",
    [
        RegisterField("x", -1, ValueType.UINT16),
        RegisterField("x", 65536, ValueType.UINT16),
        RegisterField("x", 65535, ValueType.UINT32),
        RegisterField("x", 65533, ValueType.FLOAT64),
    ],
)
def test_registers_outside_the_address_space_are_a_config_error(field: RegisterField) -> None:
    with pytest.raises(DriverConfigError):
        RegisterMap([field])


def test_last_register_of_the_address_space_is_fine() -> None:
    register_map = RegisterMap([RegisterField("x", 65534, ValueType.UINT32)])
    assert register_map.blocks == (Block(Table.HOLDING, 65534, 2),)


# --- block planning ------------------------------------------------------------------


def test_contiguous_fields_share_one_block() -> None:
    register_map = RegisterMap(
        [
            RegisterField("voltage", 0, ValueType.FLOAT32),
            RegisterField("energy", 2, ValueType.UINT32),
            RegisterField("balance", 4, ValueType.INT32),
            RegisterField("frequency", 6, ValueType.UINT16),
        ]
    )
    assert register_map.blocks == (Block(Table.HOLDING, 0, 7),)
    assert register_map.frame_size == 14


def test_small_gap_is_read_through_and_skipped_when_decoding() -> None:
    register_map = RegisterMap(
        [
            RegisterField("a", 0, ValueType.UINT16),
            RegisterField("b", 1 + MAX_GAP, ValueType.UINT16),
        ]
    )
    assert register_map.blocks == (Block(Table.HOLDING, 0, MAX_GAP + 2),)
    frame = b"\x00\x01" + b"\xff\xff" * MAX_GAP + b"\x00\x02"
    assert register_map.decode(frame) == {"a": 1, "b": 2}


def test_gap_larger_than_max_gap_splits() -> None:
    register_map = RegisterMap(
        [
            RegisterField("a", 0, ValueType.UINT16),
            RegisterField("b", 2 + MAX_GAP, ValueType.UINT32),
        ]
    )
    assert register_map.blocks == (
        Block(Table.HOLDING, 0, 1),
        Block(Table.HOLDING, 2 + MAX_GAP, 2),
    )
    assert register_map.frame_size == 6
    assert register_map.decode(b"\x00\x01" + struct.pack(">I", 70_000)) == {"a": 1, "b": 70_000}


def test_holding_and_input_tables_are_planned_apart() -> None:
    register_map = RegisterMap(
        [
            RegisterField("i1", 0, ValueType.UINT16, table=Table.INPUT),
            RegisterField("h1", 0, ValueType.UINT16),
            RegisterField("i2", 1, ValueType.UINT16, table=Table.INPUT),
            RegisterField("h2", 1, ValueType.UINT16),
        ]
    )
    assert register_map.blocks == (Block(Table.HOLDING, 0, 2), Block(Table.INPUT, 0, 2))
    decoded = register_map.decode(b"\x00\x01\x00\x02\x00\x03\x00\x04")
    assert decoded == {"h1": 1, "h2": 2, "i1": 3, "i2": 4}


def test_frame_order_follows_blocks_not_declaration_order() -> None:
    register_map = RegisterMap(
        [
            RegisterField("late", 100, ValueType.INT16),
            RegisterField("early", 0, ValueType.FLOAT32),
        ]
    )
    assert [b.address for b in register_map.blocks] == [0, 100]
    frame = struct.pack(">f", 1.5) + struct.pack(">h", -2)
    assert register_map.decode(frame) == {"late": -2, "early": 1.5}


def test_block_never_exceeds_125_registers() -> None:
    fields = [RegisterField(f"r{i}", i, ValueType.UINT16) for i in range(MAX_REGISTERS_PER_READ)]
    assert RegisterMap(fields).blocks == (Block(Table.HOLDING, 0, MAX_REGISTERS_PER_READ),)

    fields.append(RegisterField("one_more", MAX_REGISTERS_PER_READ, ValueType.UINT16))
    assert RegisterMap(fields).blocks == (
        Block(Table.HOLDING, 0, MAX_REGISTERS_PER_READ),
        Block(Table.HOLDING, MAX_REGISTERS_PER_READ, 1),
    )


def test_a_field_straddling_the_limit_starts_a_new_block() -> None:
    fields = [RegisterField(f"r{i}", i, ValueType.UINT16) for i in range(124)]
    fields.append(RegisterField("wide", 124, ValueType.FLOAT64))
    register_map = RegisterMap(fields)
    assert register_map.blocks == (Block(Table.HOLDING, 0, 124), Block(Table.HOLDING, 124, 4))
    frame = b"".join(struct.pack(">H", i) for i in range(124)) + struct.pack(">d", 2.5)
    decoded = register_map.decode(frame)
    assert decoded["r123"] == 123 and decoded["wide"] == 2.5


def test_many_spread_fields_stay_within_the_limit_and_cover_every_field() -> None:
    fields = [
        RegisterField(f"f{i}", i * (MAX_GAP + 2), ValueType.FLOAT32, table=table)
        for i in range(200)
        for table in (Table.HOLDING,)
    ] + [RegisterField(f"i{i}", i * 3, ValueType.UINT32, table=Table.INPUT) for i in range(150)]
    register_map = RegisterMap(fields)
    assert all(1 <= block.count <= MAX_REGISTERS_PER_READ for block in register_map.blocks)
    for field in fields:
        covering = [
            b
            for b in register_map.blocks
            if b.table is field.table
            and b.address <= field.address
            and field.end <= b.address + b.count
        ]
        assert len(covering) == 1, field.name
    # Every field decodes to the value written at its registers.
    frame = bytearray()
    values: dict[str, float] = {}
    for block in register_map.blocks:
        words = bytearray(block.count * 2)
        for field in fields:
            if (
                field.table is block.table
                and block.address <= field.address < block.address + block.count
            ):
                value = float(field.address) if field.type is ValueType.FLOAT32 else field.address
                code = "f" if field.type is ValueType.FLOAT32 else "I"
                start = (field.address - block.address) * 2
                words[start : start + 4] = struct.pack(">" + code, value)
                values[field.name] = value
        frame += words
    assert register_map.decode(bytes(frame)) == values
