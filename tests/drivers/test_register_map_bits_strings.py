"""Coils, discrete inputs and strings in register maps: planning, decoding, misuse."""

from __future__ import annotations

import pytest

from edgeward.drivers.errors import DeviceProtocolError, DriverConfigError
from edgeward.drivers.modbus.register_map import (
    Block,
    Order,
    RegisterField,
    RegisterMap,
    Table,
    ValueType,
)


def test_bits_pack_lsb_first_and_pad_each_block_to_whole_bytes() -> None:
    plan = RegisterMap(
        [
            RegisterField("a", 0, ValueType.BOOL, table=Table.COIL),
            RegisterField("b", 9, ValueType.BOOL, table=Table.COIL),
            RegisterField("c", 100, ValueType.BOOL, table=Table.DISCRETE_INPUT),
            RegisterField("v", 0, ValueType.UINT16),
        ]
    )
    assert plan.blocks == (
        Block(Table.HOLDING, 0, 1),
        Block(Table.COIL, 0, 10),
        Block(Table.DISCRETE_INPUT, 100, 1),
    )
    # 2 bytes of register, 2 bytes of coils (10 bits), 1 byte of discrete inputs.
    assert plan.frame_size == 5
    frame = bytes([0x12, 0x34, 0b0000_0001, 0b0000_0010, 0b0000_0000])
    assert plan.decode(frame) == {"v": 0x1234, "a": True, "b": True, "c": False}
    assert plan.decode(bytes([0, 0, 0, 0, 1])) == {"v": 0, "a": False, "b": False, "c": True}


def test_string_drops_padding_and_honours_byte_order() -> None:
    plain = RegisterMap([RegisterField("s", 0, ValueType.STRING, count=3)])
    assert plain.frame_size == 6
    assert plain.decode(b"AB-1\x00\x00") == {"s": "AB-1"}
    assert plain.decode(b"AB    ") == {"s": "AB"}
    swapped = RegisterMap(
        [RegisterField("s", 0, ValueType.STRING, count=2, byte_order=Order.LITTLE)]
    )
    assert swapped.decode(b"BADC") == {"s": "ABCD"}


def test_string_that_is_not_utf8_is_a_protocol_error() -> None:
    plan = RegisterMap([RegisterField("s", 0, ValueType.STRING, count=1)])
    with pytest.raises(DeviceProtocolError, match="UTF-8"):
        plan.decode(b"\xff\xfe")


@pytest.mark.parametrize(
    ("register_field", "message"),
    [
        (RegisterField("x", 0, ValueType.BOOL), "bool"),
        (RegisterField("x", 0, ValueType.UINT16, table=Table.COIL), "bool"),
        (RegisterField("x", 0, ValueType.STRING), "count"),
        (RegisterField("x", 0, ValueType.STRING, count=126), "count"),
        (RegisterField("x", 0, ValueType.UINT16, count=2), "count"),
    ],
)
def test_misfitting_type_table_or_count_is_a_config_error(
    register_field: RegisterField, message: str
) -> None:
    with pytest.raises(DriverConfigError, match=message):
        RegisterMap([register_field])


def test_string_overlapping_a_number_is_a_config_error() -> None:
    with pytest.raises(DriverConfigError, match="overlap"):
        RegisterMap(
            [
                RegisterField("s", 0, ValueType.STRING, count=4),
                RegisterField("n", 3, ValueType.UINT16),
            ]
        )


def test_bit_blocks_split_at_2000_bits() -> None:
    plan = RegisterMap(
        [
            RegisterField("first", 0, ValueType.BOOL, table=Table.COIL),
            RegisterField("last", 2000, ValueType.BOOL, table=Table.COIL),
        ]
    )
    assert [block.count for block in plan.blocks] == [1, 1]
