"""The type language's structs: strict parsing with paths, the schema, old specs rewritten."""

from __future__ import annotations

from typing import Any

import pytest

from edgeward.sync.errors import SpecError
from edgeward.sync.reports import ReportRejected
from edgeward.sync.source_types import (
    COMPONENT_PREFIX,
    legacy,
    parse_type_spec,
    spec_document,
    type_spec_components,
    type_spec_schema,
)
from edgeward.sync.source_types.conversions import converter
from edgeward.sync.source_types.spec import BitField, Conversions, ModbusType

METER = {
    "transport": "modbus",
    "auth_mode": "bound",
    "decoder": {"registers": [{"name": "voltage", "address": 0, "type": "float32"}]},
}


def _refusal(document: dict[str, Any]) -> SpecError:
    with pytest.raises(SpecError) as caught:
        parse_type_spec(document)
    return caught.value


def test_an_unknown_key_is_named_with_where_it_is() -> None:
    spec = {**METER, "decoder": {"registers": [{**METER["decoder"]["registers"][0], "zz": 1}]}}
    refusal = _refusal(spec)
    assert refusal.path == "decoder.registers[0].zz"
    assert "unknown key 'zz'" in refusal.message


def test_an_unknown_decoder_format_is_refused_naming_the_key() -> None:
    refusal = _refusal({"transport": "mqtt", "auth_mode": "bound", "decoder": {"format": "nmea"}})
    assert refusal.path == "decoder.format"
    assert "nmea" in refusal.message


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"transport": "zigbee", "auth_mode": "bound"}, "transport"),
        ({**METER, "auth_mode": "password"}, "auth_mode"),
        (
            {**METER, "decoder": {"registers": [{"name": "v", "address": 70000, "type": "int16"}]}},
            "decoder.registers[0].address",
        ),
        (
            {
                **METER,
                "decoder": {
                    "registers": [{"name": "v", "address": 0, "type": "int16", "order": "ABDC"}]
                },
            },
            "decoder.registers[0].order",
        ),
        ({**METER, "decoder": {"registers": []}}, "decoder.registers"),
        (
            {**METER, "decoder": {**METER["decoder"], "requests": {"max_registers": 126}}},
            "decoder.requests.max_registers",
        ),
    ],
)
def test_values_out_of_the_language_are_refused_by_path(
    document: dict[str, Any], path: str
) -> None:
    assert _refusal(document).path == path


def test_a_parsed_spec_is_typed_and_its_document_has_every_default() -> None:
    spec = parse_type_spec(METER)
    assert isinstance(spec, ModbusType)
    document = spec_document(spec)
    assert document["decoder"]["requests"] == {
        "max_registers": 125,
        "max_bits": 2000,
        "max_gap": 8,
        "pause": 0.0,
    }
    assert document["decoder"]["registers"][0]["order"] == "ABCD"
    assert parse_type_spec(document) == spec, "the document parses back to the same spec"


def test_the_schema_is_a_union_per_transport() -> None:
    schema = type_spec_schema()
    assert schema["discriminator"]["propertyName"] == "transport"
    assert set(schema["discriminator"]["mapping"]) == {"modbus", "serial", "ble", "mqtt"}
    assert schema["$defs"]["Register"]["additionalProperties"] is False


def test_the_openapi_components_are_prefixed_and_self_contained() -> None:
    schema, components = type_spec_components()
    assert all(name.startswith(COMPONENT_PREFIX) for name in components)
    text = repr((schema, components))
    refs = {part.split("'")[0] for part in text.split("#/components/schemas/")[1:]}
    assert refs and refs <= set(components)


@pytest.mark.parametrize(
    ("orders", "order"),
    [
        ({}, None),
        ({"word_order": "little"}, "CDAB"),
        ({"byte_order": "little"}, "BADC"),
        ({"word_order": "little", "byte_order": "little"}, "DCBA"),
    ],
)
def test_old_register_orders_keep_their_meaning(orders: dict[str, str], order: str | None) -> None:
    old = {"name": "energy", "address": 6, "type": "uint32", **orders}
    assert legacy.register(old).get("order") == order
    assert "word_order" not in legacy.register(old)


def test_old_specs_of_every_transport_are_rewritten_into_the_language() -> None:
    old = [
        {
            "transport": "modbus",
            "auth_mode": "bound",
            "sealed_for": None,
            "decoder": {
                "registers": [{"name": "e", "address": 0, "type": "uint32", "word_order": "little"}]
            },
            "fields": {"e": {"unit": "Wh", "min": 0, "max": None}},
        },
        {
            "transport": "serial",
            "auth_mode": "bound",
            "decoder": {"framing": "stx-etx", "fields": ["t", "h"], "separator": ";"},
        },
        {"transport": "mqtt", "auth_mode": "hmac", "decoder": {"fields": {"t": "temp"}}},
        {
            "transport": "ble",
            "auth_mode": "bound",
            "decoder": {
                "characteristics": [
                    {
                        "uuid": "2a6e",
                        "layout": [{"name": "t", "offset": 0, "type": "int16", "scale": 0.01}],
                    }
                ]
            },
        },
    ]
    for spec in old:
        assert legacy.is_legacy(spec)
        converted = legacy.convert_spec(spec)
        assert not legacy.is_legacy(converted)
        parse_type_spec(converted)
    serial = legacy.convert_spec(old[1])["decoder"]
    assert serial["framing"] == {"kind": "stx-etx"} and serial["separator"] == ";"
    assert legacy.convert_spec(old[2])["decoder"]["fields"] == [
        {"name": "t", "path": "temp", "type": "float"}
    ]
    assert legacy.convert_spec(old[3])["decoder"]["characteristics"][0]["layout"][0]["at"] == 0


def _store(conversions: Conversions, raw: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    converter("v", conversions)(raw, values)
    return values


def test_conversions_in_their_order() -> None:
    assert _store(Conversions(scale=0.01), 4998) == {"v": 49.98}
    assert _store(Conversions(scale=0.5, offset=-40.0), 3) == {"v": -38.5}
    assert _store(Conversions(unknown=[0x8000]), 0x8000) == {}
    assert _store(Conversions(unknown=[1]), True) == {"v": True}, "true is not the code 1"
    assert _store(Conversions(lookup={"0": "off", "1": "on"}), 1) == {"v": "on"}
    bits = Conversions(bits=[BitField(name="alarm", bit=0), BitField(name="phase", bit=4, width=2)])
    assert _store(bits, 0x21) == {"v": 33, "alarm": True, "phase": 2}


def test_a_raw_value_its_lookup_does_not_list_is_out_of_range() -> None:
    with pytest.raises(ReportRejected) as caught:
        _store(Conversions(lookup={"0": "off"}), 7)
    assert caught.value.reason == "out-of-range"
    assert caught.value.field == "v" and caught.value.value == "7"
