"""Register plans: requests within the device's limits, frames decoded exactly, every refusal."""

from __future__ import annotations

import struct
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeward.sync.errors import SpecError
from edgeward.sync.reports import ReportRejected
from edgeward.sync.source_types.modbus import Block, RegisterPlan, check_registers
from edgeward.sync.source_types.spec import ModbusDecoder

ORDERS = ("ABCD", "CDAB", "BADC", "DCBA")


def spec(registers: list[dict[str, Any]], **requests: Any) -> ModbusDecoder:
    document = {"registers": registers, "requests": requests}
    return msgspec.convert(document, ModbusDecoder, strict=True)


def plan(registers: list[dict[str, Any]], **requests: Any) -> RegisterPlan:
    return RegisterPlan(spec(registers, **requests))


def wire(big_endian: bytes, order: str) -> bytes:
    """Registers as a device holds them for ``order`` (by hand, from the big-endian value)."""
    words = [big_endian[i : i + 2] for i in range(0, len(big_endian), 2)]
    if order in ("CDAB", "DCBA"):
        words.reverse()
    if order in ("BADC", "DCBA"):
        words = [word[::-1] for word in words]
    return b"".join(words)


# ------------------------------------------------------------------ planning


def test_block_sizes() -> None:
    assert Block("holding", 0, 3).size == 6
    assert Block("input", 7, 125).size == 250
    assert Block("coil", 0, 8).size == 1
    assert Block("discrete_input", 3, 9).size == 2


def test_gapped_float32_inputs_with_max_16_registers_and_no_gap() -> None:
    addresses = [0, 2, 4, 6, 10, 12, 14, 16, 18, 20, 22, 24, 26, 30]
    registers = [
        {"name": f"f{address}", "address": address, "type": "float32", "table": "input"}
        for address in addresses
    ]
    planned = plan(registers, max_registers=16, max_gap=0)
    assert planned.blocks == (
        Block("input", 0, 8),  # 8-9 unused: max_gap 0 never reads across them
        Block("input", 10, 16),  # 10..25: 16 registers, the most one request may read
        Block("input", 26, 2),
        Block("input", 30, 2),
    )
    assert planned.frame_size == 56
    values = [float(index) + 0.5 for index in range(len(addresses))]
    frame = struct.pack(">14f", *values)
    assert planned.decode(frame) == {
        f"f{address}": value for address, value in zip(addresses, values, strict=True)
    }


def test_a_gap_within_max_gap_is_read_across() -> None:
    registers = [
        {"name": "a", "address": 0, "type": "uint16"},
        {"name": "b", "address": 5, "type": "uint16"},
        {"name": "c", "address": 15, "type": "uint16"},
    ]
    planned = plan(registers, max_gap=4)
    assert planned.blocks == (Block("holding", 0, 6), Block("holding", 15, 1))
    frame = struct.pack(">H8xH", 1, 2) + struct.pack(">H", 3)
    assert planned.decode(frame) == {"a": 1, "b": 2, "c": 3}


def test_tables_are_planned_apart_in_a_fixed_order_and_bits_pack_lsb_first() -> None:
    registers = [
        {"name": "alarm", "address": 9, "type": "bool", "table": "coil"},
        {"name": "run", "address": 0, "type": "bool", "table": "coil"},
        {"name": "door", "address": 2, "type": "bool", "table": "discrete_input"},
        {"name": "power", "address": 3, "type": "int16", "table": "input"},
        {"name": "setpoint", "address": 3, "type": "int16"},
    ]
    planned = plan(registers)
    assert planned.blocks == (
        Block("holding", 3, 1),
        Block("input", 3, 1),
        Block("coil", 0, 10),
        Block("discrete_input", 2, 1),
    )
    frame = struct.pack(">hh", -5, 1200) + bytes([0b0000_0001, 0b0000_0010, 0b1])
    assert planned.decode(frame) == {
        "setpoint": -5,
        "power": 1200,
        "run": True,
        "alarm": True,
        "door": True,
    }


def test_max_bits_splits_coil_reads() -> None:
    registers = [
        {"name": f"c{a}", "address": a, "type": "bool", "table": "coil"} for a in (0, 4, 8)
    ]
    assert plan(registers, max_bits=5).blocks == (Block("coil", 0, 5), Block("coil", 8, 1))


def test_pause_comes_from_the_requests() -> None:
    assert plan([{"name": "a", "address": 0, "type": "uint16"}], pause=0.25).pause == 0.25


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize(
    ("kind", "code", "value"),
    [
        ("int16", "h", -12345),
        ("uint16", "H", 54321),
        ("int32", "i", -123456789),
        ("uint32", "I", 4000000000),
        ("int64", "q", -(2**62) - 12345),
        ("uint64", "Q", 2**64 - 2),
        ("float32", "f", -1234.5),
        ("float64", "d", 3.141592653589793),
    ],
)
def test_every_type_in_every_order(order: str, kind: str, code: str, value: Any) -> None:
    planned = plan(
        [
            {"name": "lead", "address": 0, "type": "uint16"},
            {"name": "v", "address": 1, "type": kind, "order": order},
            {"name": "tail", "address": 5, "type": "uint16"},
        ]
    )
    body = wire(struct.pack(">" + code, value), order)
    frame = b"\x00\x07" + body + bytes(8 - len(body)) + b"\x00\x09"
    assert planned.decode(frame) == {"lead": 7, "v": value, "tail": 9}


@pytest.mark.parametrize(
    ("order", "frame"),
    [("ABCD", "11223344"), ("CDAB", "33441122"), ("BADC", "22114433"), ("DCBA", "44332211")],
)
def test_a_32_bit_register_pair_in_each_order(order: str, frame: str) -> None:
    planned = plan([{"name": "v", "address": 0, "type": "uint32", "order": order}])
    assert planned.decode(bytes.fromhex(frame)) == {"v": 0x11223344}


def test_strings_are_count_registers_of_text() -> None:
    planned = plan(
        [
            {"name": "model", "address": 0, "type": "string", "count": 4},
            {"name": "serial", "address": 4, "type": "string", "count": 2, "order": "BADC"},
            {"name": "tag", "address": 6, "type": "string", "count": 2},
        ]
    )
    frame = b"PM5560  " + b"BAC\x00" + b"x\x00yz"
    assert planned.decode(frame) == {"model": "PM5560", "serial": "AB", "tag": "x"}


def test_text_that_is_not_utf8_is_refused_naming_the_field() -> None:
    planned = plan([{"name": "model", "address": 0, "type": "string", "count": 1}])
    with pytest.raises(ReportRejected) as caught:
        planned.decode(b"\xff\xfe")
    assert (caught.value.reason, caught.value.field) == ("undecodable", "model")


def test_conversions_apply_to_registers_and_coils() -> None:
    planned = plan(
        [
            {"name": "v", "address": 0, "type": "uint16", "scale": 0.1},
            {"name": "t", "address": 1, "type": "int16", "scale": 0.01, "unknown": [-32768]},
            {
                "name": "status",
                "address": 2,
                "type": "uint16",
                "lookup": {"1": "run", "2": "stop", "32770": "stop"},
                "bits": [{"name": "fault", "bit": 15}],
            },
            {"name": "on", "address": 0, "type": "bool", "table": "coil", "lookup": {"true": 1}},
        ]
    )
    frame = struct.pack(">HhH", 2305, -32768, 1) + b"\x01"
    assert planned.decode(frame) == {"v": 230.5, "status": "run", "fault": False, "on": 1}
    frame = struct.pack(">HhH", 0, 100, 0x8002) + b"\x01"
    assert planned.decode(frame) == {"v": 0.0, "t": 1.0, "status": "stop", "fault": True, "on": 1}
    with pytest.raises(ReportRejected) as caught:
        planned.decode(struct.pack(">HhH", 0, 0, 3) + b"\x01")
    assert (caught.value.reason, caught.value.field) == ("out-of-range", "status")


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_a_float_that_is_not_a_number_is_refused_naming_it(scale: float) -> None:
    planned = plan(
        [
            {"name": "ok", "address": 0, "type": "float32"},
            {"name": "bad", "address": 2, "type": "float32", "order": "CDAB", "scale": scale},
        ]
    )
    with pytest.raises(ReportRejected) as caught:
        planned.decode(struct.pack(">f", 1.0) + wire(struct.pack(">f", float("nan")), "CDAB"))
    assert (caught.value.reason, caught.value.field) == ("out-of-range", "bad")


@pytest.mark.parametrize("size", [0, 3, 5])
def test_a_frame_of_the_wrong_size_is_undecodable(size: int) -> None:
    planned = plan([{"name": "v", "address": 0, "type": "uint32"}])
    with pytest.raises(ReportRejected) as caught:
        planned.decode(bytes(size))
    assert caught.value.reason == "undecodable"


# ------------------------------------------------------------------ check_registers

R = "decoder.registers"
REFUSALS: list[tuple[list[dict[str, Any]], dict[str, Any], str, str]] = [
    (
        [
            {"name": "volts", "address": 0, "type": "float32"},
            {"name": "amps", "address": 1, "type": "uint16"},
        ],
        {},
        f"{R}[1].address",
        "'amps' overlaps 'volts'",
    ),
    (
        [
            {"name": "long", "address": 0, "type": "string", "count": 10},
            {"name": "a", "address": 3, "type": "uint16"},
            {"name": "b", "address": 6, "type": "uint16", "table": "input"},
        ],
        {},
        f"{R}[1].address",
        "'a' overlaps 'long'",
    ),
    ([{"name": "a", "address": 0, "type": "bool"}], {}, f"{R}[0].type", "bool"),
    (
        [{"name": "a", "address": 0, "type": "int16", "table": "coil"}],
        {},
        f"{R}[0].type",
        "coil",
    ),
    ([{"name": "a", "address": 0, "type": "string"}], {}, f"{R}[0].count", "count"),
    ([{"name": "a", "address": 0, "type": "int16", "count": 1}], {}, f"{R}[0].count", "strings"),
    (
        [{"name": "a", "address": 0, "type": "string", "count": 2, "order": "CDAB"}],
        {},
        f"{R}[0].order",
        "register order",
    ),
    (
        [{"name": "a", "address": 0, "type": "float32", "bits": [{"name": "x", "bit": 0}]}],
        {},
        f"{R}[0].bits",
        "integer",
    ),
    (
        [{"name": "a", "address": 0, "type": "uint16", "bits": [{"name": "x", "bit": 16}]}],
        {},
        f"{R}[0].bits[0].bit",
        "16 bits",
    ),
    (
        [
            {
                "name": "a",
                "address": 0,
                "type": "uint32",
                "bits": [{"name": "x", "bit": 30, "width": 4}],
            }
        ],
        {},
        f"{R}[0].bits[0].width",
        "32 bits",
    ),
    (
        [{"name": "a", "address": 0, "type": "string", "count": 20}],
        {"max_registers": 16},
        f"{R}[0].count",
        "never be read",
    ),
    (
        [{"name": "a", "address": 0, "type": "float64"}],
        {"max_registers": 3},
        f"{R}[0].type",
        "never be read",
    ),
    (
        [
            {"name": "a", "address": 0, "type": "uint16"},
            {"name": "a", "address": 1, "type": "uint16"},
        ],
        {},
        f"{R}[1].name",
        "twice",
    ),
    (
        [
            {"name": "a", "address": 0, "type": "uint16", "bits": [{"name": "b", "bit": 0}]},
            {"name": "b", "address": 1, "type": "uint16"},
        ],
        {},
        f"{R}[1].name",
        "twice",
    ),
    (
        [
            {
                "name": "a",
                "address": 0,
                "type": "uint16",
                "bits": [{"name": "a", "bit": 0}],
            }
        ],
        {},
        f"{R}[0].bits[0].name",
        "twice",
    ),
    ([{"name": "a", "address": 65535, "type": "uint32"}], {}, f"{R}[0].address", "65535"),
]


@pytest.mark.parametrize(("registers", "requests", "path", "message"), REFUSALS)
def test_check_registers_refuses_naming_the_key(
    registers: list[dict[str, Any]], requests: dict[str, Any], path: str, message: str
) -> None:
    with pytest.raises(SpecError, match=message) as caught:
        check_registers(spec(registers, **requests), "decoder")
    assert caught.value.path == path
    with pytest.raises(SpecError):
        plan(registers, **requests)


def test_the_same_address_in_two_tables_is_no_overlap() -> None:
    check_registers(
        spec(
            [
                {"name": "a", "address": 0, "type": "uint16"},
                {"name": "b", "address": 0, "type": "uint16", "table": "input"},
                {"name": "c", "address": 0, "type": "bool", "table": "coil"},
                {"name": "d", "address": 0, "type": "bool", "table": "discrete_input"},
            ]
        ),
        "decoder",
    )


# ------------------------------------------------------------------ fuzzing

TYPES = ["int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64", "string"]
TYPES += ["bool"]
REGISTER = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["a", "b", "c", "d", "e", "f"]),
        "address": st.integers(0, 40) | st.just(65534),
        "type": st.sampled_from(TYPES),
    },
    optional={
        "table": st.sampled_from(["holding", "input", "coil", "discrete_input"]),
        "order": st.sampled_from(ORDERS),
        "count": st.integers(1, 6),
        "scale": st.sampled_from([0.1, -2.0, 1e300]),
        "unknown": st.lists(st.integers(-2, 2), max_size=2),
        "lookup": st.just({"0": "zero", "1": True}),
        "bits": st.lists(
            st.fixed_dictionaries(
                {"name": st.sampled_from(["x", "y", "a"]), "bit": st.integers(0, 63)},
                optional={"width": st.integers(1, 64)},
            ),
            max_size=2,
        ),
    },
)
REQUESTS = st.fixed_dictionaries(
    {},
    optional={
        "max_registers": st.integers(1, 125),
        "max_bits": st.integers(1, 2000),
        "max_gap": st.integers(0, 124),
    },
)


@settings(max_examples=300)
@given(st.lists(REGISTER, min_size=1, max_size=8), REQUESTS)
def test_checking_any_valid_decoder_raises_only_spec_error(
    registers: list[dict[str, Any]], requests: dict[str, Any]
) -> None:
    try:
        check_registers(spec(registers, **requests), "decoder")
    except SpecError as refused:
        assert refused.path.startswith("decoder.registers[")


@st.composite
def valid_registers(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Register maps that pass the check, so that planning and decoding get fuzzed."""
    registers: list[dict[str, Any]] = []
    address = {"holding": 0, "input": 0, "coil": 0, "discrete_input": 0}
    widths = {"int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "int64": 4, "uint64": 4}
    widths |= {"float32": 2, "float64": 4, "bool": 1}
    for index in range(draw(st.integers(1, 10))):
        table = draw(st.sampled_from(list(address)))
        kind = "bool" if table in ("coil", "discrete_input") else draw(st.sampled_from(TYPES[:-1]))
        register: dict[str, Any] = {"name": f"r{index}", "table": table, "type": kind}
        register["address"] = address[table] + draw(st.integers(0, 12))
        if kind == "string":
            register["count"] = draw(st.integers(1, 4))
            register["order"] = draw(st.sampled_from(["ABCD", "BADC"]))
        elif kind != "bool":
            register["order"] = draw(st.sampled_from(ORDERS))
        if kind in ("int16", "uint16") and draw(st.booleans()):
            register["bits"] = [{"name": f"x{index}", "bit": draw(st.integers(0, 15))}]
        if draw(st.booleans()):
            register["scale"] = draw(st.sampled_from([0.1, -2.0, 1e300]))
        if draw(st.integers(0, 4)) == 0:
            register["lookup"] = {"0": "zero", "1": True, "true": "on"}
        address[table] = register["address"] + register.get("count", widths.get(kind, 1))
        registers.append(register)
    return registers


@settings(max_examples=300)
@given(valid_registers(), REQUESTS.filter(lambda r: r.get("max_registers", 125) >= 4), st.data())
def test_decoding_any_bytes_raises_only_report_rejected(
    registers: list[dict[str, Any]], requests: dict[str, Any], data: st.DataObject
) -> None:
    planned = plan(registers, **requests)
    for block in planned.blocks:
        limit = requests.get(
            "max_bits" if block.table in ("coil", "discrete_input") else "max_registers"
        )
        assert block.count <= (limit or 2000)
    frame = data.draw(
        st.binary(min_size=planned.frame_size, max_size=planned.frame_size) | st.binary()
    )
    try:
        values = planned.decode(frame)
    except ReportRejected as refused:
        assert refused.reason in ("undecodable", "out-of-range")
        return
    assert {r["name"] for r in registers} - set(values) <= {
        r["name"] for r in registers if "lookup" in r or "unknown" in r
    }
