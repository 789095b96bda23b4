"""The ``fields`` arrays of text-carrying sources (serial frames, MQTT JSON payloads).

Deprecated: the registry's data-source type decodes every admitted reading,
so these arrays are optional and unused by the data path. They are still
accepted, and checked when present, so that gateway.toml files written for
earlier versions keep loading on a gateway upgraded in the field; the
runtime names them once in its log.
"""

from __future__ import annotations

from edgeward.gateway.config.section import Section
from edgeward.sync.frames import FieldType, TextField


def parse_fields(owner: Section, *, json_paths: bool) -> tuple[TextField, ...]:
    if "fields" not in owner.data:
        return ()
    fields: list[TextField] = []
    for entry in owner.sections("fields"):
        entry.allow("name", "type", "path") if json_paths else entry.allow("name", "type")
        fields.append(
            TextField(
                name=entry.identifier("name"),
                type=FieldType(entry.choice("type", tuple(FieldType), FieldType.FLOAT)),
                path=entry.optional_string("path") if json_paths else None,
            )
        )
    if not fields:
        raise owner.error("fields", "at least one { name = ..., type = ... }", "none")
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise owner.error("fields", "field names that differ from each other", names)
    return tuple(fields)
