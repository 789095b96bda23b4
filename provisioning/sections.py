"""A device section written by hand, merged by ``edgeward devices add --section FILE``.

For what ``--binding`` can't say (a bus's parity, a broker's TLS files, a
BLE device found by name), the installer writes the device's section in
gateway.toml's own form: a ``[[modbus_tcp]]`` endpoint with its
``[[modbus_tcp.devices]]``, a ``[[modbus_rtu]]`` bus, a ``[[serial]]`` port,
an ``[[mqtt]]`` broker with its ``[[mqtt.subscriptions]]``, or ``[ble]`` with
its ``[[ble.devices]]``. It holds one device, the source being added, and
binds it only: what to read and how is the type's.

It is merged into the same tomlkit document ``--binding`` edits, keeping
everything else: a Modbus device joins the endpoint (same host and port) or
bus (same serial port) already there, a subscription the broker with the
same host and port (one connection per broker: two with one client id
would take turns throwing each other off), a BLE device the ``[ble]``
there is; the rest is appended. The section's own comments come along.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from tomlkit.items import AoT, Array, Table
from tomlkit.toml_document import TOMLDocument

from edgeward.gateway.config import ble, modbus, mqtt, serial
from edgeward.provisioning.errors import UsageError
from edgeward.provisioning.gateway_toml import append_table, ensure_table, new_table
from edgeward.provisioning.placement import MODBUS_TCP_PORT, MQTT_PORT

KINDS = ("modbus_tcp", "modbus_rtu", "serial", "mqtt", "ble")
# Keys of a section that say which bus or broker it is, with their defaults.
SAME: dict[str, Callable[[Mapping[str, Any]], object]] = {
    "modbus_tcp": lambda t: (t.get("host"), t.get("port", MODBUS_TCP_PORT)),
    "modbus_rtu": lambda t: t.get("port"),
    "mqtt": lambda t: (t.get("host"), t.get("port", 8883 if "tls" in t else MQTT_PORT)),
}
CHILD = {"modbus_tcp": "devices", "modbus_rtu": "devices", "mqtt": "subscriptions"}
MOVED = {
    "modbus_tcp": modbus.MOVED_TO_TYPE,
    "modbus_rtu": modbus.MOVED_TO_TYPE,
    "serial": serial.MOVED_TO_TYPE,
    "mqtt": mqtt.MOVED_TO_TYPE,
    "ble": ble.MOVED_TO_TYPE,
}


def devices(section: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(kind, key, table) of every device entry in a gateway.toml-shaped document."""
    for kind in KINDS:
        value = section.get(kind)
        if kind == "ble":
            entries = value.get("devices", []) if isinstance(value, Mapping) else []
            yield from ((kind, f"ble.devices[{i}]", e) for i, e in enumerate(entries))
        elif kind == "serial":
            yield from ((kind, f"serial[{i}]", e) for i, e in enumerate(_list(value)))
        else:
            for index, parent in enumerate(_list(value)):
                child = CHILD[kind]
                for number, entry in enumerate(_list(parent.get(child))):
                    yield kind, f"{kind}[{index}].{child}[{number}]", entry


def _list(value: object) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def check_section(section: TOMLDocument, origin: Path, source: str) -> str:
    """The kind of the one device ``section`` binds (as ``source``), or :class:`UsageError`."""
    for key in section:
        if key not in KINDS:
            raise UsageError(
                f"--section {origin}: {key}: expected [[modbus_tcp]], [[modbus_rtu]], "
                "[[serial]], [[mqtt]] or [ble] (a device's section), found something else"
            )
    found = list(devices(section))
    names = [str(entry.get("source")) for _, _, entry in found]
    if names != [source]:
        raise UsageError(
            f"--section {origin}: expected one device, with source = {source!r} "
            f"(the name given with --source), found {', '.join(map(repr, names)) or 'none'}"
        )
    kind, key, entry = found[0]
    moved = [name for name in MOVED[kind] if name in entry]
    if moved:
        raise UsageError(
            f"--section {origin}: {key}.{moved[0]}: the data-source type (--type) describes "
            "how to read and decode the device now; the section only binds it "
            "(`edgeward devices convert --config FILE` prints the type and the binding "
            "of an old section)"
        )
    return kind


def merge(document: TOMLDocument, section: TOMLDocument) -> None:
    """Merge a checked ``section`` into ``document`` (gateway.toml, parsed by tomlkit)."""
    for kind, value in section.items():
        if kind == "ble":
            _merge_ble(document, value)
        elif kind == "serial":
            for table in _tables(value):
                append_table(document, kind, table)
        else:
            for table in _tables(value):
                _merge_parent(document, kind, table)


def _merge_parent(document: TOMLDocument, kind: str, table: Table) -> None:
    same = SAME[kind]
    existing = document.get(kind)
    for parent in existing if isinstance(existing, AoT | Array) else []:
        if same(parent) == same(table):
            for entry in _tables(table.get(CHILD[kind])):
                append_table(parent, CHILD[kind], entry)
            return
    append_table(document, kind, table)


def _merge_ble(document: TOMLDocument, value: Table) -> None:
    target = ensure_table(document, "ble")
    for key, setting in value.items():
        if key != "devices" and key not in target:
            target.add(key, setting)
    for entry in _tables(value.get("devices")):
        append_table(target, "devices", entry)


def _tables(value: object) -> list[Table]:
    if isinstance(value, AoT):
        return list(value)
    if isinstance(value, Array):
        return [_as_table(item) for item in value]
    return []


def _as_table(item: Mapping[str, Any]) -> Table:
    return new_table(dict(item))
