"""Rules of a type spec that span several keys, and the one validator the cloud calls.

The structs of :mod:`~edgeward.sync.source_types.spec` refuse unknown keys
and wrong types; what they can't say is checked here: overlapping
registers, a checksum in a field that does not exist, a sealed type the
cloud can't tell apart, a range for a field the decoder never produces,
and, by doing, an example the type cannot decode. Every refusal is a
:class:`~edgeward.sync.errors.SpecError` naming the key.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from edgeward.sync.errors import SpecError
from edgeward.sync.reports import FrameIgnored, ReportRejected
from edgeward.sync.source_types import parse_type_spec, spec_document
from edgeward.sync.source_types.ble import check_ble
from edgeward.sync.source_types.decoders import binary_layout, build_decoder, check_ranges
from edgeward.sync.source_types.gatt import standard_characteristic
from edgeward.sync.source_types.modbus import check_registers
from edgeward.sync.source_types.spec import (
    BinaryField,
    BleType,
    Conversions,
    Example,
    ModbusType,
    TextField,
    TypeSpec,
)
from edgeward.sync.source_types.text_checks import check_text
from edgeward.sync.source_types.uuids import normalize_uuid

# Where an example's BLE value is said to come from (the decoder reads only the UUID).
EXAMPLE_ORIGIN = "ble://00:00:00:00:00:00/"


def validate_type_spec(document: Mapping[str, Any]) -> dict[str, Any]:
    """Check a type document whole; return it with every default filled in."""
    spec = with_standard_fields(parse_type_spec(document))
    check_type_spec(spec)
    return spec_document(spec)


def with_standard_fields(spec: TypeSpec) -> TypeSpec:
    """``spec`` with the unit and range of each standard BLE characteristic's fields that
    it does not describe itself: a standard sensor needs no hand-written format."""
    if not isinstance(spec, BleType):
        return spec
    fields = dict(spec.fields)
    for characteristic in spec.decoder.characteristics:
        standard = standard_characteristic(characteristic.uuid)
        if characteristic.layout is None and standard is not None:
            for name, meta in standard.fields.items():
                fields.setdefault(name, meta)
    return msgspec.structs.replace(spec, fields=fields)


def check_type_spec(spec: TypeSpec) -> None:
    """Raise :class:`SpecError` unless ``spec`` is sound and decodes its own examples."""
    _check_sealing(spec)
    if isinstance(spec, ModbusType):
        check_registers(spec.decoder, "decoder")
    elif isinstance(spec, BleType):
        check_ble(spec.decoder, "decoder")
    else:
        check_text(spec.decoder, "decoder", binary=binary_layout)
    names = set(field_names(spec))
    for name, meta in spec.fields.items():
        where = f"fields.{name}"
        if name not in names:
            raise SpecError(where, "not a field the decoder produces")
        for bound in ("min", "max"):
            value = getattr(meta, bound)
            if value is not None and not math.isfinite(value):
                raise SpecError(f"{where}.{bound}", "expected a finite number")
        if meta.min is not None and meta.max is not None and meta.min > meta.max:
            raise SpecError(where, "min is above max")
    for index, example in enumerate(spec.examples):
        _check_example(spec, example, f"examples[{index}]")


def _check_sealing(spec: TypeSpec) -> None:
    if (spec.auth_mode == "sealed") != (spec.sealed_for is not None):
        raise SpecError("sealed_for", "'gateway' or 'cloud' with auth_mode sealed, and only then")
    if spec.sealed_for == "cloud" and isinstance(spec, ModbusType):
        raise SpecError("sealed_for", "a Modbus meter can't seal; only the gateway decodes it")
    if (
        spec.sealed_for == "cloud"
        and isinstance(spec, BleType)
        and len(spec.decoder.characteristics) != 1
    ):
        raise SpecError(
            "decoder.characteristics",
            "sealed for the cloud: exactly one characteristic (sealed reports don't say which)",
        )


def field_names(spec: TypeSpec) -> list[str]:
    """Every value name a reading of this type can carry, bits included."""
    if isinstance(spec, ModbusType):
        return list(_with_bits(spec.decoder.registers))
    if isinstance(spec, BleType):
        names: list[str] = []
        for characteristic in spec.decoder.characteristics:
            layout = characteristic.layout
            if layout is None:
                standard = standard_characteristic(characteristic.uuid)
                layout = list(standard.layout) if standard else []
            names += _with_bits(layout)
        return names
    decoder = spec.decoder
    fields: list[TextField] = [*decoder.fields]
    for record in decoder.records:
        fields += record.fields
    return [
        *_with_bits(field for field in fields if field.emit),
        *_with_bits(decoder.layout),
    ]


def _with_bits(fields: Iterable[BinaryField | TextField | Conversions]) -> Iterable[str]:
    for field in fields:
        yield field.name  # type: ignore[union-attr]
        yield from (bit.name for bit in field.bits)


def _check_example(spec: TypeSpec, example: Example, where: str) -> None:
    if (example.text is None) == (example.hex is None):
        raise SpecError(where, "expected one of 'text' or 'hex'")
    if (example.values is not None) + (example.refused is not None) + example.ignored != 1:
        raise SpecError(
            where, "expected one of 'values' (what it decodes to), 'refused' or 'ignored'"
        )
    if example.hex is not None:
        try:
            payload = bytes.fromhex(example.hex)
        except ValueError as exc:
            raise SpecError(f"{where}.hex", "expected hexadecimal bytes") from exc
    else:
        payload = str(example.text).encode()
    origin = _example_origin(spec, example, where)
    try:
        values = build_decoder(spec)(payload, origin)
        check_ranges(values, spec.fields)
    except ReportRejected as refusal:
        if example.refused == refusal.reason:
            return
        raise SpecError(where, f"the type can't decode its own example: {refusal}") from None
    except FrameIgnored as ignored:
        if example.ignored:
            return
        raise SpecError(where, f"the type passes over its own example: {ignored}") from None
    if example.ignored:
        raise SpecError(where, f"decodes to {values}, the example says it is ignored")
    if example.refused is not None:
        raise SpecError(where, f"decodes to {values}, the example says {example.refused}")
    if values != example.values or _types(values) != _types(example.values or {}):
        raise SpecError(f"{where}.values", f"the type decodes it to {values}")


def _types(values: Mapping[str, Any]) -> dict[str, type]:
    """1 and 1.0 and True compare equal; an example says which it means."""
    return {name: type(value) for name, value in values.items()}


def _example_origin(spec: TypeSpec, example: Example, where: str) -> str:
    if not isinstance(spec, BleType):
        if example.characteristic is not None:
            raise SpecError(f"{where}.characteristic", "only BLE examples name a characteristic")
        return "example"
    characteristics = spec.decoder.characteristics
    uuid = example.characteristic
    if uuid is None:
        if len(characteristics) != 1:
            raise SpecError(f"{where}.characteristic", "expected the characteristic it came from")
        uuid = characteristics[0].uuid
    return EXAMPLE_ORIGIN + normalize_uuid(uuid)


__all__ = ["check_type_spec", "field_names", "validate_type_spec"]
