"""Data-source types: the one description of a device's data, and the interpreters of it.

- :mod:`~edgeward.sync.source_types.spec`: the language (msgspec structs), its JSON Schema;
- :mod:`~edgeward.sync.source_types.conversions`: unknown codes, lookups, bits, scale, offset;
- :mod:`~edgeward.sync.source_types.binary`: binary values and layouts (BLE, binary frames);
- :mod:`~edgeward.sync.source_types.gatt`: the Bluetooth SIG's standard characteristic formats;
- :mod:`~edgeward.sync.source_types.ble`: BLE types, a layout per characteristic UUID;
- :mod:`~edgeward.sync.source_types.modbus`: register maps planned into requests, and decoded;
- :mod:`~edgeward.sync.source_types.text`: delimited, regex and JSON frames, record kinds
  (with :mod:`~edgeward.sync.source_types.text_values`, one value by its type, and
  :mod:`~edgeward.sync.source_types.text_checks`, the rules spanning a text decoder's keys);
- :mod:`~edgeward.sync.source_types.checksums`: the frame checksums a type may name;
- :mod:`~edgeward.sync.source_types.nmea`: the NMEA 0183 GNSS receiver type, built in.

The gateway decodes every report it admits by its source's type, and the
cloud decodes the reports sealed for it alone and every example of a type
it is given, with the same code: that is why it lives in the shared contract.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from edgeward.sync.errors import SpecError
from edgeward.sync.source_types.spec import TypeSpec

__all__ = [
    "SpecError",
    "TypeSpec",
    "parse_type_spec",
    "spec_document",
    "spec_of",
    "type_spec_components",
    "type_spec_schema",
]

# Components of the type language in an OpenAPI document are named with this
# prefix, so that "Register" or "Example" never clash with the API's own models.
COMPONENT_PREFIX = "SourceType"
_UNKNOWN_KEY = re.compile(r"Object contains unknown field `(.+)`")


def parse_type_spec(document: Mapping[str, Any]) -> TypeSpec:
    """The typed spec of ``document``; raises :class:`SpecError` naming the key."""
    try:
        spec: TypeSpec = msgspec.convert(document, TypeSpec, strict=True)
        return spec
    except msgspec.ValidationError as exc:
        message, _, where = str(exc).rpartition(" - at `")
        path = _path(where.rstrip("`")) if message else ""
        message = message or str(exc)
        unknown = _UNKNOWN_KEY.fullmatch(message)
        if unknown is not None:  # name the key itself, and say it is one too many
            key = unknown.group(1)
            path = f"{path}.{key}" if path else key
            message = f"unknown key {key!r}: the language has no such key here"
        raise SpecError(path, message) from exc


# The keys of a type's spec: a type as the API or a registry shows it carries
# others beside them (its id, name, creation time).
SPEC_KEYS = ("transport", "auth_mode", "sealed_for", "decoder", "fields", "examples")


def spec_of(described: Mapping[str, Any]) -> TypeSpec:
    """The typed spec of a type as the API or a registry entry describes it."""
    return parse_type_spec({key: described[key] for key in SPEC_KEYS if key in described})


def spec_document(spec: TypeSpec) -> dict[str, Any]:
    """The JSON document of ``spec``, every default filled in (what the registry signs)."""
    document = msgspec.to_builtins(spec)
    assert isinstance(document, dict)
    return document


def type_spec_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a type spec, its definitions under ``$defs``."""
    return msgspec.json.schema(TypeSpec)


def type_spec_components() -> tuple[dict[str, Any], dict[str, Any]]:
    """The type spec's schema as an OpenAPI document embeds it: the schema of
    ``spec`` (a tagged union by transport) and the components it refers to."""
    (schema,), components = msgspec.json.schema_components(
        [TypeSpec], ref_template="#/components/schemas/" + COMPONENT_PREFIX + "{name}"
    )
    return schema, {COMPONENT_PREFIX + name: value for name, value in components.items()}


def _path(where: str) -> str:
    """``$.decoder.registers[0]`` as the API names keys: ``decoder.registers[0]``."""
    return where.removeprefix("$").removeprefix(".")
