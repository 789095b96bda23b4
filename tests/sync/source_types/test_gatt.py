"""Standard GATT characteristics and the BLE type decoder."""

from __future__ import annotations

import struct
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeward.sync.errors import SpecError
from edgeward.sync.reports import ReportRejected
from edgeward.sync.source_types.binary import LayoutDecoder, check_layout
from edgeward.sync.source_types.ble import BleTypeDecoder, check_ble
from edgeward.sync.source_types.gatt import STANDARD, standard_characteristic
from edgeward.sync.source_types.spec import BleDecoder

BASE = "-0000-1000-8000-00805f9b34fb"


def uuid(short: str) -> str:
    return f"0000{short}{BASE}"


def standard(short: str, value: bytes) -> dict[str, Any]:
    found = standard_characteristic(short)
    assert found is not None
    return LayoutDecoder(found.layout).decode(value)


def ble(document: dict[str, Any]) -> BleDecoder:
    return msgspec.convert(document, BleDecoder, strict=True)


# ------------------------------------------------------------------ the table


def test_the_table_is_keyed_by_128_bit_lowercase_uuids() -> None:
    for key in STANDARD:
        assert key == key.lower() and key.endswith(BASE) and len(key) == 36


@pytest.mark.parametrize("key", sorted(STANDARD))
def test_every_standard_layout_passes_the_check_and_describes_its_fields(key: str) -> None:
    characteristic = STANDARD[key]
    check_layout(characteristic.layout, "layout")
    names = {field.name for field in characteristic.layout}
    assert set(characteristic.fields) == names


def test_the_brief_s_characteristics_are_all_there() -> None:
    for short in [
        "2a6e",
        "2a6f",
        "2a6d",
        "2a19",
        "2a1c",
        "2a1f",
        "2a20",
        "2a6c",
        "2a76",
        "2a77",
        "2a7b",
        "2a7a",
        "2a79",
        "2a70",
        "2a71",
        "2a78",
        "2b18",
    ]:
        assert uuid(short) in STANDARD, short


@pytest.mark.parametrize("form", ["2a6e", "2A6E", "00002a6e", uuid("2a6e"), uuid("2a6e").upper()])
def test_standard_characteristic_accepts_every_uuid_form(form: str) -> None:
    found = standard_characteristic(form)
    assert found is not None and found.name == "Temperature"


@pytest.mark.parametrize("form", ["2aff", "12345678-1234-5678-1234-567812345678", "zz", ""])
def test_unknown_or_malformed_uuids_have_no_standard(form: str) -> None:
    assert standard_characteristic(form) is None


# ------------------------------------------------------------------ exact values


@pytest.mark.parametrize(
    ("short", "value", "expected"),
    [
        ("2a6e", "2e09", {"temperature": 23.5}),
        ("2a6e", struct.pack("<h", -1005).hex(), {"temperature": -10.05}),
        ("2a6e", "0080", {}),  # 0x8000: not known
        ("2a6f", struct.pack("<H", 4998).hex(), {"humidity": 49.98}),
        ("2a6f", "ffff", {}),
        ("2a6d", struct.pack("<I", 1013253).hex(), {"pressure": 101325.3}),
        ("2a19", "64", {"battery_level": 100}),
        ("2a6c", "2efbff", {"elevation": -12.34}),  # sint24 -1234
        ("2a6c", "40e201", {"elevation": 1234.56}),
        ("2a1f", struct.pack("<h", -55).hex(), {"temperature": -5.5}),
        ("2a20", struct.pack("<h", 986).hex(), {"temperature_fahrenheit": 98.6}),
        ("2a76", "0b", {"uv_index": 11}),
        ("2a77", struct.pack("<H", 8005).hex(), {"irradiance": 800.5}),
        ("2a7b", "f6", {"dew_point": -10}),
        ("2a7a", "2a", {"heat_index": 42}),
        ("2a79", "e2", {"wind_chill": -30}),
        ("2a70", struct.pack("<H", 1234).hex(), {"true_wind_speed": 12.34}),
        ("2a71", struct.pack("<H", 35999).hex(), {"true_wind_direction": 359.99}),
        ("2a78", struct.pack("<H", 1234).hex(), {"rainfall": 1.234}),
        ("2b18", struct.pack("<H", 12345).hex(), {"voltage": 192.890625}),
        ("2b18", "ffff", {}),
        ("2aee", struct.pack("<H", 1550).hex(), {"electric_current": 15.5}),
        ("2afb", "ffffff", {}),
        ("2afb", (123456).to_bytes(3, "little").hex(), {"illuminance": 1234.56}),
        ("2b0d", "d3", {"temperature": -22.5}),
        ("2b0d", "7f", {}),
        ("2bdf", struct.pack("<h", -0x7FFF).hex(), {}),  # 0x8001: not valid
        ("2b8c", struct.pack("<H", 415).hex(), {"co2_concentration": 415}),
        ("2be8", struct.pack("<H", 50).hex(), {"voltage_frequency": 50}),
    ],
)
def test_standard_values_decode_exactly(short: str, value: str, expected: dict[str, Any]) -> None:
    assert standard(short, bytes.fromhex(value)) == expected


TM_CELSIUS = bytes.fromhex("00" + "6c0100ff")  # 36.4 °C
TM_FULL = bytes.fromhex("07" + "6c0100ff" + "e807" + "0c050a1e3b" + "02")


def test_temperature_measurement_in_celsius() -> None:
    assert standard("2a1c", TM_CELSIUS) == {"flags": 0, "temperature": 36.4}


def test_temperature_measurement_in_fahrenheit_with_time_stamp_and_type() -> None:
    assert standard("2a1c", TM_FULL) == {
        "flags": 7,
        "temperature_fahrenheit": 36.4,
        "timestamp_year": 2024,
        "timestamp_month": 12,
        "timestamp_day": 5,
        "timestamp_hours": 10,
        "timestamp_minutes": 30,
        "timestamp_seconds": 59,
        "temperature_type": 2,
    }


def test_temperature_measurement_type_without_time_stamp_takes_its_place() -> None:
    value = bytes.fromhex("04" + "6c0100ff" + "06")
    assert standard("2a1c", value) == {"flags": 4, "temperature": 36.4, "temperature_type": 6}


def test_temperature_measurement_nan_and_unknown_date_parts_are_absent() -> None:
    value = bytes.fromhex("02" + "ffff7f00" + "0000" + "00000c0000")
    assert standard("2a1c", value) == {
        "flags": 2,
        "timestamp_hours": 12,
        "timestamp_minutes": 0,
        "timestamp_seconds": 0,
    }


def test_a_temperature_measurement_missing_its_flagged_time_stamp_is_refused() -> None:
    with pytest.raises(ReportRejected) as caught:
        standard("2a1c", bytes.fromhex("02" + "6c0100ff" + "e807"))
    assert (caught.value.reason, caught.value.field) == ("undecodable", "timestamp_month")


def test_intermediate_temperature_has_the_measurement_s_format() -> None:
    assert standard("2a1e", TM_CELSIUS) == {"flags": 0, "temperature": 36.4}


# ------------------------------------------------------------------ BleTypeDecoder

ORIGIN = "ble://AA:BB:CC:DD:EE:FF/"


def test_the_decoder_picks_the_layout_by_the_origin_s_uuid() -> None:
    decoder = BleTypeDecoder(ble({"characteristics": [{"uuid": "2a6e"}, {"uuid": "2A6F"}]}))
    assert decoder.decode(bytes.fromhex("2e09"), ORIGIN + uuid("2a6e")) == {"temperature": 23.5}
    assert decoder.decode(b"\x88\x13", ORIGIN + uuid("2a6f").upper()) == {"humidity": 50.0}
    assert decoder.decode(b"\x88\x13", ORIGIN + "2a6f") == {"humidity": 50.0}


def test_a_layout_in_the_spec_replaces_the_standard_one() -> None:
    custom = [{"name": "raw", "type": "uint16", "order": "ABCD"}]
    decoder = BleTypeDecoder(ble({"characteristics": [{"uuid": "2a6e", "layout": custom}]}))
    assert decoder.decode(bytes.fromhex("092e"), ORIGIN + uuid("2a6e")) == {"raw": 2350}


def test_a_custom_characteristic_with_its_layout() -> None:
    custom_uuid = "12345678-1234-5678-1234-56789abcdef0"
    layout = [{"name": "co2", "type": "uint16"}, {"name": "tvoc", "type": "uint16"}]
    decoder = BleTypeDecoder(ble({"characteristics": [{"uuid": custom_uuid, "layout": layout}]}))
    assert decoder.decode(bytes.fromhex("9001" + "0a00"), ORIGIN + custom_uuid.upper()) == {
        "co2": 400,
        "tvoc": 10,
    }


@pytest.mark.parametrize("origin", [ORIGIN + uuid("2a19"), ORIGIN + "not-a-uuid", "", "/" * 3])
def test_a_characteristic_the_type_does_not_name_is_undecodable(origin: str) -> None:
    decoder = BleTypeDecoder(ble({"characteristics": [{"uuid": "2a6e"}]}))
    with pytest.raises(ReportRejected) as caught:
        decoder.decode(b"\x00\x00", origin)
    assert caught.value.reason == "undecodable"


@pytest.mark.parametrize(
    ("document", "path"),
    [
        (
            {"characteristics": [{"uuid": "2a6e"}, {"uuid": "12345678"}]},
            "decoder.characteristics[1].layout",
        ),
        (
            {"characteristics": [{"uuid": "2a6e"}, {"uuid": uuid("2A6E").upper()}]},
            "decoder.characteristics[1].uuid",
        ),
        (
            {"characteristics": [{"uuid": "abcd", "layout": []}]},
            "decoder.characteristics[0].layout",
        ),
        (
            {
                "characteristics": [
                    {"uuid": "2a6e"},
                    {"uuid": "abcd", "layout": [{"name": "a", "type": "uint8", "order": "ABCD"}]},
                ]
            },
            "decoder.characteristics[1].layout[0].order",
        ),
    ],
)
def test_check_ble_refuses_naming_the_key(document: dict[str, Any], path: str) -> None:
    with pytest.raises(SpecError) as caught:
        check_ble(ble(document), "decoder")
    assert caught.value.path == path
    with pytest.raises(SpecError):
        BleTypeDecoder(ble(document))


# ------------------------------------------------------------------ fuzzing

SHORTS = ["2a6e", "2a1c", "2a6c", "2b18", "abcd", "2a6E", "12345678"]
FIELDS = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["a", "b", "flags"]),
        "type": st.sampled_from(["uint8", "int16", "int24", "medfloat32", "string", "float32"]),
    },
    optional={
        "order": st.sampled_from(["ABCD", "CDAB", "BADC", "DCBA"]),
        "at": st.integers(0, 6),
        "when": st.fixed_dictionaries(
            {"field": st.sampled_from(["a", "flags"]), "bit": st.integers(0, 9)}
        ),
    },
)
CHARACTERISTICS = st.fixed_dictionaries(
    {"uuid": st.sampled_from(SHORTS)},
    optional={"layout": st.lists(FIELDS, max_size=4), "mode": st.sampled_from(["notify", "read"])},
)


@settings(max_examples=300)
@given(st.lists(CHARACTERISTICS, min_size=1, max_size=4))
def test_checking_any_valid_ble_decoder_raises_only_spec_error(
    characteristics: list[dict[str, Any]],
) -> None:
    try:
        check_ble(ble({"characteristics": characteristics}), "decoder")
    except SpecError as refused:
        assert refused.path.startswith("decoder.characteristics[")


@settings(max_examples=300)
@given(
    st.lists(
        st.sampled_from(["2a6e", "2a1c", "2a6c", "2b18", "2a6f", "2a19"]), min_size=1, unique=True
    ),
    st.binary(max_size=24),
    st.sampled_from(["2a6e", "2a1c", "2a6c", "2b18", "2a6f", "2a19", "ffff", "x"]),
)
def test_decoding_any_bytes_raises_only_report_rejected(
    shorts: list[str], payload: bytes, characteristic: str
) -> None:
    decoder = BleTypeDecoder(ble({"characteristics": [{"uuid": short} for short in shorts]}))
    try:
        decoder.decode(payload, ORIGIN + characteristic)
    except ReportRejected as refused:
        assert refused.reason in ("undecodable", "out-of-range")
