"""``edgeward devices convert``: an old gateway.toml's inline decoding, moved into types.

Before the type language, gateway.toml could describe how to read and
decode a device itself: a Modbus device's ``registers``, a serial port's
``framing``, ``delimiter``, ``checksum``, ``length_size``, ``max_length``,
``request``, ``separator`` and ``fields``, an MQTT subscription's ``fields``,
a BLE device's ``characteristics``. The gateway now refuses them
(:meth:`~edgeward.gateway.config.section.Section.refuse_moved`): the
source's data-source type holds that description, once, for the gateway
and the cloud alike.

For each such section this finds the type document that says the same in
today's language (Modbus registers through
:func:`edgeward.sync.source_types.legacy.register`, the converter the
cloud's own migration uses, so both read an old order the same way) and the
binding that stays. Sources whose documents are the same share one type.
:func:`convert` removes the moved keys from the tomlkit document as it
goes, so writing it (``--write``) keeps every other line as it was.

The cloud can't change a source's type (``PUT /v1/data-sources/{id}``
changes its binding and whether it is enabled), so a source registered
with another type is deleted and created again with the new one; the
steps printed say so rather than pretend otherwise.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tomlkit.items import AoT, Array, Comment, InlineTable, Null, Table, Whitespace
from tomlkit.toml_document import TOMLDocument

from edgeward.gateway.config import ble, modbus, mqtt, serial
from edgeward.sync.errors import SpecError
from edgeward.sync.source_types import legacy, parse_type_spec

# gateway.toml's field types of the first language, in today's.
TEXT_TYPES = {"int": "integer", "float": "float", "str": "string", "bool": "boolean"}
FRAMINGS = {**legacy.LEGACY_FRAMINGS, "length_prefixed": "length-prefixed"}
BLE_MODES = {"notify": "notify", "poll": "read"}


@dataclass
class Moved:
    """One section whose decoding moved: its source, the type that holds it now,
    the binding (the cloud's words) and the section that stays."""

    key: str
    source: str
    header: str
    entry: Table | InlineTable
    spec: dict[str, Any]
    binding: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def section(self) -> str:
        """The entry as gateway.toml keeps it, with its comments (not those after
        its last key, which introduce what follows it)."""
        if isinstance(self.entry, InlineTable):
            return f"{self.header} entry {self.entry.as_string().strip()}"
        lines = self.entry.as_string().rstrip().splitlines()
        while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith("#")):
            lines.pop()
        return "\n".join([f"[[{self.header}]]", *lines])


def convert(document: TOMLDocument) -> list[Moved]:
    """Every section of ``document`` that decodes by itself, its moved keys removed."""
    found: list[Moved] = []
    for kind in ("modbus_tcp", "modbus_rtu"):
        for index, bus in enumerate(_items(document.get(kind))):
            for number, entry in enumerate(_items(bus.get("devices"))):
                if modbus.MOVED_TO_TYPE[0] in entry:
                    key = f"{kind}[{index}].devices[{number}]"
                    found.append(_modbus(key, f"{kind}.devices", _bus(kind, bus), entry))
    for index, entry in enumerate(_items(document.get("serial"))):
        if any(name in entry for name in serial.MOVED_TO_TYPE):
            found.append(_serial(f"serial[{index}]", entry))
    for index, broker in enumerate(_items(document.get("mqtt"))):
        for number, entry in enumerate(_items(broker.get("subscriptions"))):
            if mqtt.MOVED_TO_TYPE[0] in entry:
                found.append(_mqtt(f"mqtt[{index}].subscriptions[{number}]", entry))
    section = document.get("ble")
    for index, entry in enumerate(_items(section.get("devices") if section else None)):
        if ble.MOVED_TO_TYPE[0] in entry:
            found.append(_ble(f"ble.devices[{index}]", entry))
    return found


def _items(value: object) -> list[Any]:
    return list(value) if isinstance(value, AoT | Array) else []


def _bus(kind: str, bus: Any) -> str:
    """The bus as the gateway names it (``ModbusTcpConfig.bus``), defaults included."""
    if kind == "modbus_tcp":
        return f"modbus-tcp://{bus.get('host')}:{bus.get('port', 502)}"
    return f"modbus-rtu://{bus.get('port')}"


def _modbus(key: str, header: str, bus: str, entry: Any) -> Moved:
    registers = [legacy.register(_plain(r)) for r in _items(entry["registers"])]
    _remove(entry, "registers")
    spec = {"transport": "modbus", "auth_mode": "bound", "decoder": {"registers": registers}}
    binding = {"bus": bus, "unit": _plain(entry.get("unit"))}
    return Moved(key, str(entry.get("source")), header, entry, spec, binding)


def _serial(key: str, entry: Any) -> Moved:
    old = {name: _plain(entry[name]) for name in serial.MOVED_TO_TYPE if name in entry}
    kind = FRAMINGS.get(old.get("framing", "line"), old.get("framing", "line"))
    framing: dict[str, Any] = {"kind": kind}
    renamed = {"delimiter": "delimiter", "checksum": "check", "length_size": "length_size"}
    for name, new in (*renamed.items(), ("max_length", "max_length")):
        if name in old:
            framing[new] = old[name]
    decoder: dict[str, Any] = {"framing": framing}
    for name in ("request", "separator"):
        if name in old:
            decoder[name] = old[name]
    notes = []
    if "fields" in old:
        decoder["fields"] = [_text_field(f) for f in old["fields"]]
    else:
        notes.append(
            "no fields here: the type it is registered with decodes it; "
            "give that type this framing rather than creating this one"
        )
    for name in old:
        _remove(entry, name)
    spec = {"transport": "serial", "auth_mode": "bound", "decoder": decoder}
    binding = {"port": _plain(entry.get("port"))}
    return Moved(key, str(entry.get("source")), "serial", entry, spec, binding, notes)


def _text_field(old: dict[str, Any]) -> dict[str, Any]:
    converted = {"name": old["name"]}
    if "path" in old:
        converted["path"] = old["path"]
    converted["type"] = TEXT_TYPES.get(old.get("type", "float"), "float")
    return converted


def _mqtt(key: str, entry: Any) -> Moved:
    fields = [_text_field(f) for f in _plain(entry["fields"])]
    _remove(entry, "fields")
    spec = {
        "transport": "mqtt",
        "auth_mode": "bound",
        "decoder": {"format": "json", "fields": fields},
    }
    binding = {"topic": _plain(entry.get("topic"))}
    return Moved(key, str(entry.get("source")), "mqtt.subscriptions", entry, spec, binding)


def _ble(key: str, entry: Any) -> Moved:
    """A device was one source per characteristic; it is one source now, whose type
    lists every characteristic: the first characteristic's source names it."""
    old = _plain(entry["characteristics"])
    trailing = _remove(entry, "characteristics", keep_trailing=False)
    characteristics = []
    notes = []
    for characteristic in old:
        converted: dict[str, Any] = {"uuid": characteristic["uuid"]}
        converted["mode"] = BLE_MODES.get(characteristic.get("mode", "notify"), "notify")
        if characteristic.get("fields"):
            converted["layout"] = [_binary_field(f) for f in characteristic["fields"]]
        if "length" in characteristic:
            notes.append(f"{characteristic['uuid']}: length {characteristic['length']} dropped")
        characteristics.append(converted)
    service = {"service": _plain(entry["service_uuid"])} if "service_uuid" in entry else {}
    decoder: dict[str, Any] = {**service, "characteristics": characteristics}
    sources = [str(c.get("source")) for c in old]
    entry.add("source", sources[0])
    intervals = [c["poll_interval"] for c in old if "poll_interval" in c]
    if intervals:
        entry.add("poll_interval", min(intervals))
    _restore(entry, trailing)
    if len(sources) > 1:
        notes.append(
            f"it read {len(sources)} sources, one per characteristic ({', '.join(sources)}); "
            f"a device is one source now, {sources[0]}, and its type lists every "
            f"characteristic: delete {', '.join(sources[1:])} at the cloud once it reads"
        )
    address = _plain(entry.get("address"))
    binding = {"address": str(address).upper()} if address else {}
    if not address:
        notes.append("the cloud binds a BLE source by its address: add address = ...")
    spec = {"transport": "ble", "auth_mode": "bound", "decoder": decoder}
    return Moved(key, sources[0], "ble.devices", entry, spec, binding, notes)


def _binary_field(old: dict[str, Any]) -> dict[str, Any]:
    converted = {"name": old["name"], "type": old["type"], "at": old["offset"]}
    if "scale" in old:
        converted["scale"] = old["scale"]
    return converted


def _plain(value: Any) -> Any:
    return value.unwrap() if hasattr(value, "unwrap") else value


def _remove(entry: Any, name: str, *, keep_trailing: bool = True) -> list[Any]:
    """Delete ``name``; comments after a removed ``[[...]]`` section's last line
    belong to what follows it, so they stay (returned instead, if asked)."""
    value = entry[name]
    last = value[-1] if isinstance(value, AoT) and len(value) else value
    trailing: list[Any] = []
    if isinstance(last, Table):
        for _, item in reversed(last.value.body):
            if not isinstance(item, Comment | Whitespace):
                break
            trailing.insert(0, item)
    del entry[name]
    if keep_trailing:
        _restore(entry, trailing)
    return trailing


def _restore(entry: Any, trailing: list[Any]) -> None:
    if not isinstance(entry, Table):
        return
    # A deleted key leaves a Null in tomlkit's body: look past it.
    body = [item for _, item in entry.value.body if not isinstance(item, Null)]
    if body and isinstance(body[-1], Whitespace):
        # One blank line is enough: the entry's own already separates them.
        trailing = list(itertools.dropwhile(lambda item: isinstance(item, Whitespace), trailing))
    for item in trailing:
        entry.add(item)


def type_groups(moved: list[Moved]) -> Iterator[tuple[dict[str, Any], list[Moved]]]:
    """Each distinct type document, with the sources that share it, in file order."""
    groups: dict[str, tuple[dict[str, Any], list[Moved]]] = {}
    for item in moved:
        canonical = json.dumps(item.spec, sort_keys=True)
        groups.setdefault(canonical, (item.spec, []))[1].append(item)
    yield from groups.values()


def type_document(spec: dict[str, Any], sources: list[Moved]) -> dict[str, Any]:
    """The body of ``POST /v1/data-source-types`` for ``spec``."""
    names = [item.source for item in sources]
    shown = names[0] if len(names) == 1 else f"{names[0]} and {len(names) - 1} more"
    return {"name": f"{spec['transport']} type of {shown} (from gateway.toml)", "spec": spec}


def spec_problem(spec: dict[str, Any]) -> str | None:
    """Why the cloud would refuse ``spec`` as it stands (its parser's words), if it would."""
    try:
        parse_type_spec(spec)
    except SpecError as exc:
        return f"{exc.path or 'spec'}: {exc.message}"
    return None
