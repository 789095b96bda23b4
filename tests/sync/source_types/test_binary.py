"""Binary layouts: every type and byte order exactly, presence flags, and every refusal."""

from __future__ import annotations

import struct
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeward.sync.errors import SpecError
from edgeward.sync.reports import ReportRejected
from edgeward.sync.source_types.binary import LayoutDecoder, check_layout, medfloat16, medfloat32
from edgeward.sync.source_types.spec import BinaryField

ORDERS = ("ABCD", "CDAB", "BADC", "DCBA")


def layout(*fields: dict[str, Any]) -> list[BinaryField]:
    return msgspec.convert(list(fields), list[BinaryField], strict=True)


def decode(fields: list[dict[str, Any]], frame: bytes, order: str = "DCBA") -> dict[str, Any]:
    return LayoutDecoder(layout(*fields), order).decode(frame)  # type: ignore[arg-type]


def one(kind: str, frame: bytes, **extra: Any) -> Any:
    return decode([{"name": "v", "type": kind, **extra}], frame).get("v")


def wire(big_endian: bytes, order: str) -> bytes:
    """The bytes of a big-endian value as a device sends them in ``order`` (by hand:
    words of two bytes, reversed for CDAB/DCBA, each swapped for BADC/DCBA)."""
    words = [big_endian[i : i + 2] for i in range(0, len(big_endian), 2)]
    if order in ("CDAB", "DCBA"):
        words.reverse()
    if order in ("BADC", "DCBA"):
        words = [word[::-1] for word in words]
    return b"".join(words)


# ------------------------------------------------------------------ orders


@pytest.mark.parametrize(
    ("order", "frame"),
    [("ABCD", "11223344"), ("CDAB", "33441122"), ("BADC", "22114433"), ("DCBA", "44332211")],
)
def test_a_32_bit_value_in_each_order(order: str, frame: str) -> None:
    assert one("uint32", bytes.fromhex(frame), order=order) == 0x11223344


@pytest.mark.parametrize(
    ("order", "frame"),
    [
        ("ABCD", "1122334455667788"),
        ("CDAB", "7788556633441122"),
        ("BADC", "2211443366558877"),
        ("DCBA", "8877665544332211"),
    ],
)
def test_a_64_bit_value_in_each_order(order: str, frame: str) -> None:
    assert one("uint64", bytes.fromhex(frame), order=order) == 0x1122334455667788


def test_on_16_bits_cdab_is_abcd_and_badc_is_dcba() -> None:
    assert one("uint16", bytes.fromhex("1234"), order="CDAB") == 0x1234
    assert one("uint16", bytes.fromhex("1234"), order="ABCD") == 0x1234
    assert one("uint16", bytes.fromhex("3412"), order="BADC") == 0x1234
    assert one("uint16", bytes.fromhex("3412"), order="DCBA") == 0x1234


def test_the_default_order_is_little_endian_and_can_be_changed() -> None:
    fields = [{"name": "v", "type": "int16"}]
    assert decode(fields, struct.pack("<h", -2)) == {"v": -2}
    assert decode(fields, struct.pack(">h", -2), "ABCD") == {"v": -2}


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
def test_every_wide_type_in_every_order(order: str, kind: str, code: str, value: Any) -> None:
    frame = wire(struct.pack(">" + code, value), order)
    assert one(kind, frame, order=order) == value


@pytest.mark.parametrize(
    ("kind", "frame", "value"),
    [
        ("int8", "fe", -2),
        ("int8", "7f", 127),
        ("uint8", "fe", 254),
        ("bool", "00", False),
        ("bool", "02", True),
        ("int24", "ffffff", -1),
        ("int24", "000080", -8388608),
        ("int24", "ffff7f", 8388607),
        ("int24", "2efbff", -1234),
        ("uint24", "ffffff", 16777215),
        ("uint24", "563412", 0x123456),
    ],
)
def test_narrow_types_little_endian(kind: str, frame: str, value: Any) -> None:
    result = one(kind, bytes.fromhex(frame))
    assert result == value
    assert type(result) is type(value)


def test_24_bit_values_big_endian() -> None:
    assert one("int24", bytes.fromhex("fffb2e"), order="ABCD") == -1234
    assert one("uint24", bytes.fromhex("123456"), order="ABCD") == 0x123456


# ------------------------------------------------------------------ medfloats


def test_medfloat32_rounds_to_its_decimals() -> None:
    # FLOAT: exponent -1 (0xFF), mantissa 364; sent little-endian.
    assert one("medfloat32", bytes.fromhex("6c0100ff")) == 36.4
    assert medfloat32(0xFE00_3039) == 123.45  # 12345 x 10^-2
    assert medfloat32(0x02FF_FFFE) == -200.0  # -2 x 10^2
    assert medfloat32(0x0080_0003) == -8388605.0  # the most negative ordinary mantissa


def test_medfloat16_sign_extends_exponent_and_mantissa() -> None:
    assert one("medfloat16", bytes.fromhex("6cf1")) == 36.4  # 0xF16C
    assert medfloat16(0x0FFF) == -1.0
    assert medfloat16(0x1002) == 20.0
    assert medfloat16(0x8001) == 1e-8
    assert medfloat16(0xE7D0) == 20.0  # 2000 x 10^-2


@pytest.mark.parametrize("code", [0x07FF, 0x0800, 0x07FE, 0x0802, 0x0801])
def test_medfloat16_special_values_are_absent(code: int) -> None:
    assert medfloat16(code) is None
    assert decode([{"name": "v", "type": "medfloat16"}], code.to_bytes(2, "little")) == {}


@pytest.mark.parametrize("code", [0x007FFFFF, 0x00800000, 0x007FFFFE, 0x00800002, 0x00800001])
def test_medfloat32_special_values_are_absent(code: int) -> None:
    assert medfloat32(code) is None
    assert decode([{"name": "v", "type": "medfloat32"}], code.to_bytes(4, "little")) == {}


def test_a_special_mantissa_with_an_exponent_is_a_number() -> None:
    # 11073-20601 reserves these mantissas with exponent 0 only.
    assert medfloat16(0xF7FF) == 204.7


# ------------------------------------------------------------------ strings


def test_strings_stop_at_nul_and_drop_trailing_spaces() -> None:
    assert one("string", b"abc\x00def") == "abc"
    assert one("string", b"abc   ") == "abc"
    assert one("string", "Grüße".encode()) == "Grüße"
    fields = [{"name": "s", "type": "string", "length": 4}, {"name": "n", "type": "uint8"}]
    assert decode(fields, b"ab  \x07") == {"s": "ab", "n": 7}


def test_a_string_that_is_not_utf8_is_refused_naming_the_field() -> None:
    with pytest.raises(ReportRejected) as caught:
        one("string", b"\xff\xfe")
    assert (caught.value.reason, caught.value.field) == ("undecodable", "v")


def test_a_string_at_the_very_end_may_be_empty() -> None:
    fields = [{"name": "n", "type": "uint8"}, {"name": "s", "type": "string"}]
    assert decode(fields, b"\x01") == {"n": 1, "s": ""}


# ------------------------------------------------------------------ positions and presence


def test_at_is_absolute_and_the_next_field_follows_it() -> None:
    fields = [
        {"name": "a", "type": "uint8", "at": 3},
        {"name": "b", "type": "uint16"},
        {"name": "c", "type": "uint8", "at": 0},
    ]
    assert decode(fields, bytes([9, 0, 0, 1, 2, 3])) == {"a": 1, "b": 0x0302, "c": 9}


def test_an_absent_field_takes_no_bytes() -> None:
    fields = [
        {"name": "flags", "type": "uint8"},
        {"name": "a", "type": "uint16", "when": {"field": "flags", "bit": 0}},
        {"name": "b", "type": "uint16", "when": {"field": "flags", "bit": 1}},
        {"name": "c", "type": "uint8", "when": {"field": "flags", "bit": 1, "set": False}},
    ]
    assert decode(fields, bytes([0b10, 5, 0])) == {"flags": 2, "b": 5}
    assert decode(fields, bytes([0b01, 5, 0, 7])) == {"flags": 1, "a": 5, "c": 7}
    assert decode(fields, bytes([0b00, 7])) == {"flags": 0, "c": 7}


def test_presence_reads_the_raw_flags_not_their_conversion() -> None:
    fields = [
        {"name": "flags", "type": "uint8", "lookup": {"1": "on", "0": "off"}},
        {"name": "a", "type": "uint8", "when": {"field": "flags", "bit": 0}},
    ]
    assert decode(fields, bytes([1, 9])) == {"flags": "on", "a": 9}


def test_a_field_whose_flags_are_absent_is_absent() -> None:
    fields = [
        {"name": "outer", "type": "uint8"},
        {"name": "inner", "type": "uint8", "when": {"field": "outer", "bit": 7}},
        {"name": "x", "type": "uint8", "when": {"field": "inner", "bit": 0}},
    ]
    assert decode(fields, bytes([0, 1])) == {"outer": 0}


def test_a_frame_too_short_for_a_present_field_is_refused_naming_it() -> None:
    fields = [
        {"name": "flags", "type": "uint8"},
        {"name": "a", "type": "uint32", "when": {"field": "flags", "bit": 0}},
    ]
    assert decode(fields, b"\x00") == {"flags": 0}
    with pytest.raises(ReportRejected) as caught:
        decode(fields, b"\x01\x02\x03")
    assert caught.value.reason == "undecodable"
    assert caught.value.field == "a"
    assert caught.value.value == "010203"


def test_trailing_bytes_are_ignored() -> None:
    assert decode([{"name": "v", "type": "uint8"}], b"\x05\xff\xff") == {"v": 5}


def test_a_position_beyond_the_frame_is_refused() -> None:
    with pytest.raises(ReportRejected):
        decode([{"name": "s", "type": "string", "at": 5}], b"ab")


# ------------------------------------------------------------------ conversions


def test_unknown_codes_are_absent() -> None:
    fields = [{"name": "t", "type": "int16", "scale": 0.01, "unknown": [-32768]}]
    assert decode(fields, struct.pack("<h", -32768)) == {}
    assert decode(fields, struct.pack("<h", 2350)) == {"t": 23.5}


def test_scale_and_offset_are_fixed_point() -> None:
    fields = [{"name": "v", "type": "uint16", "scale": 0.01, "offset": -40}]
    assert decode(fields, struct.pack("<H", 6498)) == {"v": 24.98}


def test_lookup_and_bits() -> None:
    fields = [
        {
            "name": "state",
            "type": "uint8",
            "lookup": {"2": "charging", "3": "full"},
            "bits": [{"name": "low", "bit": 0}, {"name": "level", "bit": 1, "width": 2}],
        }
    ]
    assert decode(fields, b"\x03") == {"state": "full", "low": True, "level": 1}
    with pytest.raises(ReportRejected) as caught:
        decode(fields, b"\x04")
    assert (caught.value.reason, caught.value.field) == ("out-of-range", "state")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_an_ieee_float_that_is_not_a_number_is_refused(value: float) -> None:
    with pytest.raises(ReportRejected) as caught:
        one("float32", struct.pack("<f", value))
    assert (caught.value.reason, caught.value.field) == ("out-of-range", "v")


# ------------------------------------------------------------------ check_layout


REFUSALS = [
    (
        [{"name": "a", "type": "uint8"}, {"name": "a", "type": "uint8"}],
        "layout[1].name",
    ),
    (
        [
            {
                "name": "a",
                "type": "uint8",
                "bits": [{"name": "x", "bit": 0}, {"name": "x", "bit": 1}],
            }
        ],
        "layout[0].bits[1].name",
    ),
    (
        [
            {"name": "a", "type": "uint8", "bits": [{"name": "b", "bit": 0}]},
            {"name": "b", "type": "uint8"},
        ],
        "layout[1].name",
    ),
    (
        [
            {"name": "a", "type": "uint8", "when": {"field": "b", "bit": 0}},
            {"name": "b", "type": "uint8"},
        ],
        "layout[0].when.field",
    ),
    (
        [
            {"name": "b", "type": "float32"},
            {"name": "a", "type": "uint8", "when": {"field": "b", "bit": 0}},
        ],
        "layout[1].when.field",
    ),
    (
        [
            {"name": "b", "type": "bool"},
            {"name": "a", "type": "uint8", "when": {"field": "b", "bit": 0}},
        ],
        "layout[1].when.field",
    ),
    (
        [
            {"name": "b", "type": "uint8"},
            {"name": "a", "type": "uint8", "when": {"field": "b", "bit": 8}},
        ],
        "layout[1].when.bit",
    ),
    ([{"name": "a", "type": "uint16", "length": 2}], "layout[0].length"),
    ([{"name": "a", "type": "uint8", "order": "ABCD"}], "layout[0].order"),
    ([{"name": "a", "type": "bool", "order": "DCBA"}], "layout[0].order"),
    ([{"name": "a", "type": "string", "order": "ABCD"}], "layout[0].order"),
    ([{"name": "a", "type": "int24", "order": "CDAB"}], "layout[0].order"),
    ([{"name": "a", "type": "uint24", "order": "BADC"}], "layout[0].order"),
    ([{"name": "a", "type": "float32", "bits": [{"name": "x", "bit": 0}]}], "layout[0].bits"),
    ([{"name": "a", "type": "medfloat16", "bits": [{"name": "x", "bit": 0}]}], "layout[0].bits"),
    (
        [{"name": "a", "type": "uint16", "bits": [{"name": "x", "bit": 16}]}],
        "layout[0].bits[0].bit",
    ),
    (
        [{"name": "a", "type": "int24", "bits": [{"name": "x", "bit": 20, "width": 5}]}],
        "layout[0].bits[0].width",
    ),
    (
        [{"name": "a", "type": "uint32", "at": 0}, {"name": "b", "type": "uint8", "at": 3}],
        "layout[1].at",
    ),
    (
        [
            {"name": "a", "type": "string", "at": 2, "length": 4},
            {"name": "b", "type": "uint16", "at": 1},
        ],
        "layout[1].at",
    ),
    ([{"name": "a", "type": "string"}, {"name": "b", "type": "uint8"}], "layout[0].length"),
]


@pytest.mark.parametrize(("fields", "path"), REFUSALS)
def test_check_layout_refuses_naming_the_key(fields: list[dict[str, Any]], path: str) -> None:
    with pytest.raises(SpecError) as caught:
        check_layout(layout(*fields), "layout")
    assert caught.value.path == path
    with pytest.raises(SpecError):  # the decoder refuses to be built the same way
        LayoutDecoder(layout(*fields))


def test_an_overlap_message_names_both_fields() -> None:
    fields = layout(
        {"name": "a", "type": "uint32", "at": 0}, {"name": "b", "type": "uint8", "at": 3}
    )
    with pytest.raises(SpecError, match="'b' overlaps 'a'"):
        check_layout(fields, "decoder.layout")


def test_fields_one_flag_bit_picks_between_may_share_bytes() -> None:
    when = {"field": "flags", "bit": 0}
    fields = layout(
        {"name": "flags", "type": "uint8", "at": 0},
        {"name": "c", "type": "int16", "at": 1, "when": when},
        {"name": "f", "type": "int16", "at": 1, "when": {**when, "set": False}},
    )
    check_layout(fields, "layout")
    assert LayoutDecoder(fields).decode(b"\x01\x05\x00") == {"flags": 1, "c": 5}


def test_a_24_bit_field_without_order_needs_a_usable_default() -> None:
    with pytest.raises(SpecError) as caught:
        LayoutDecoder(layout({"name": "a", "type": "int24"}), "CDAB")
    assert caught.value.path == "layout[0].order"


def test_check_layout_uses_the_path_it_is_given() -> None:
    with pytest.raises(SpecError) as caught:
        check_layout(layout({"name": "a", "type": "uint8", "order": "DCBA"}), "decoder.layout")
    assert caught.value.path == "decoder.layout[0].order"


# ------------------------------------------------------------------ fuzzing

KINDS = [
    "int8", "uint8", "int16", "uint16", "int24", "uint24", "int32", "uint32", "int64",
    "uint64", "float32", "float64", "medfloat16", "medfloat32", "bool", "string",
]  # fmt: skip


@st.composite
def field_documents(draw: st.DrawFn, count: int = 6) -> list[dict[str, Any]]:
    """Layout documents msgspec accepts; names are mostly unique so that many pass the check."""
    fields: list[dict[str, Any]] = []
    for index in range(draw(st.integers(1, count))):
        name = draw(st.sampled_from([f"f{index}", "f0", "flags"]))
        field: dict[str, Any] = {"name": name, "type": draw(st.sampled_from(KINDS))}
        if draw(st.booleans()):
            field["at"] = draw(st.integers(0, 12))
        if draw(st.integers(0, 3)) == 0:
            field["order"] = draw(st.sampled_from(ORDERS))
        if field["type"] == "string" and draw(st.booleans()):
            field["length"] = draw(st.integers(1, 6))
        if fields and draw(st.booleans()):
            field["when"] = {
                "field": draw(st.sampled_from([f["name"] for f in fields])),
                "bit": draw(st.integers(0, 9)),
                "set": draw(st.booleans()),
            }
        _conversions(draw, field, index)
        fields.append(field)
    return fields


def _conversions(draw: st.DrawFn, field: dict[str, Any], index: int) -> None:
    field["scale"] = draw(st.sampled_from([1.0, 0.01, -2.5, 1e300]))
    field["offset"] = draw(st.sampled_from([0.0, 1.5]))
    field["unknown"] = draw(st.lists(st.integers(-3, 3), max_size=2))
    if draw(st.integers(0, 4)) == 0:
        field["lookup"] = {"0": "zero", "1": True, "2": 2.5}
    if draw(st.integers(0, 3)) == 0:
        field["bits"] = [
            {"name": f"b{index}", "bit": draw(st.integers(0, 9)), "width": draw(st.integers(1, 4))}
        ]


INTEGERS = [kind for kind in KINDS if "int" in kind]
WIDE = ["int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64"]


@st.composite
def valid_documents(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Layouts built to pass check_layout mostly, so that decoding gets fuzzed."""
    fields: list[dict[str, Any]] = []
    count = draw(st.integers(1, 6))
    for index in range(count):
        kind = draw(st.sampled_from(KINDS))
        field: dict[str, Any] = {"name": f"f{index}", "type": kind}
        if kind in WIDE and draw(st.booleans()):
            field["order"] = draw(st.sampled_from(ORDERS))
        if kind == "string" and (index < count - 1 or draw(st.booleans())):
            field["length"] = draw(st.integers(1, 6))
        if index == 0 and draw(st.integers(0, 3)) == 0:
            field["at"] = draw(st.integers(0, 4))
        flags = [f["name"] for f in fields if f["type"] in INTEGERS]
        if flags and draw(st.booleans()):
            field["when"] = {
                "field": draw(st.sampled_from(flags)),
                "bit": draw(st.integers(0, 7)),
                "set": draw(st.booleans()),
            }
        _conversions(draw, field, index)
        if kind not in INTEGERS:
            field.pop("bits", None)
        elif "bits" in field:
            field["bits"][0].update(bit=draw(st.integers(0, 4)), width=draw(st.integers(1, 3)))
        fields.append(field)
    return fields


@settings(max_examples=400)
@given(valid_documents(), st.binary(max_size=40), st.sampled_from(ORDERS))
def test_decoding_any_bytes_raises_only_report_rejected(
    documents: list[dict[str, Any]], frame: bytes, order: str
) -> None:
    fields = layout(*documents)
    if order in ("CDAB", "BADC") and any("int24" in f["type"] for f in documents):
        order = "DCBA"  # a 24-bit field has no words to swap
    decoder = LayoutDecoder(fields, order)  # type: ignore[arg-type]
    try:
        values = decoder.decode(frame)
    except ReportRejected as refused:
        assert refused.reason in ("undecodable", "out-of-range")
        return
    assert all(isinstance(value, bool | int | float | str) for value in values.values())


@settings(max_examples=300)
@given(field_documents(count=8))
def test_checking_any_valid_layout_raises_only_spec_error(documents: list[dict[str, Any]]) -> None:
    try:
        check_layout(layout(*documents), "layout")
    except SpecError as refused:
        assert refused.path.startswith("layout[")
