"""The device's own section in gateway.toml, added by ``edgeward devices add --section FILE``.

The installer gives the gateway-side description of the device as a small
TOML file in gateway.toml's own form (a ``[[modbus_tcp]]`` endpoint with its
``[[modbus_tcp.devices]]``, a ``[[modbus_rtu]]`` bus, a ``[[serial]]`` port,
an ``[[mqtt]]`` broker, or ``[ble]`` with its ``[[ble.devices]]``). It is
merged into gateway.toml keeping everything else: a Modbus device joins the
endpoint (same host and port) or bus (same serial port) already there, the
others are appended. The result must load with the gateway's own parser
(:func:`edgeward.gateway.config.loader.load_config`) before anything is done: a bad
result is refused naming the key, and neither the cloud nor the file is
touched. The file is then replaced whole (temp + rename).
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from edgeward.gateway.config.loader import load_config
from edgeward.gateway.config.toml_writer import dump_toml
from edgeward.gateway.errors import ConfigError
from edgeward.provisioning.errors import UsageError
from edgeward.provisioning.state import write

BUS_KEYS = {"modbus_tcp": ("host", "port"), "modbus_rtu": ("port",)}
APPENDED = ("serial", "mqtt")


def _toml(path: Path, what: str) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{what} {path}: unreadable ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{what} {path}: expected valid TOML, found an error: {exc}") from exc


def _sources(value: object) -> Iterator[str]:
    """Every ``source = "..."`` anywhere in ``value``."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "source" and isinstance(inner, str):
                yield inner
            else:
                yield from _sources(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _sources(inner)


def _merge_bus(buses: list[dict[str, Any]], entry: dict[str, Any], keys: tuple[str, ...]) -> None:
    same = [bus for bus in buses if all(bus.get(k) == entry.get(k) for k in keys)]
    if same:
        same[0].setdefault("devices", []).extend(entry.get("devices", []))
    else:
        buses.append(entry)


def merged(document: dict[str, Any], section: dict[str, Any], origin: Path) -> dict[str, Any]:
    """``document`` (not changed) with the device ``section`` merged in."""
    result = copy.deepcopy(document)
    for key, value in section.items():
        if key in BUS_KEYS and isinstance(value, list):
            for entry in value:
                _merge_bus(result.setdefault(key, []), entry, BUS_KEYS[key])
        elif key in APPENDED and isinstance(value, list):
            result.setdefault(key, []).extend(value)
        elif key == "ble" and isinstance(value, dict):
            ble = result.setdefault("ble", {})
            ble.setdefault("devices", []).extend(value.get("devices", []))
            for name, setting in value.items():
                if name != "devices":
                    ble.setdefault(name, setting)
        else:
            raise UsageError(
                f"--section {origin}: {key}: expected one of [[modbus_tcp]], [[modbus_rtu]], "
                "[[serial]], [[mqtt]] or [ble] (a device's section), found something else"
            )
    return result


def prepare(config: Path, section_file: Path, source: str) -> bytes:
    """gateway.toml with the device's section, checked by the gateway's parser; nothing written."""
    section = _toml(section_file, "--section")
    if source not in set(_sources(section)):
        raise UsageError(
            f"--section {section_file}: expected a device with source = {source!r} "
            "(the name given with --source), found none"
        )
    data = dump_toml(merged(_toml(config, "the gateway's config"), section, section_file)).encode()
    candidate = config.with_name(f".{config.name}.candidate")  # same dir: same relative paths
    try:
        write(candidate, data, mode=0o644)
        load_config(candidate)
    except ConfigError as exc:
        where = f"{exc.key}: " if exc.key else ""
        raise UsageError(
            f"{config} with the section from {section_file} would not load: "
            f"{where}expected {exc.expected}, found {exc.found}",
            hint="fix the section file; nothing was registered or written",
        ) from exc
    finally:
        candidate.unlink(missing_ok=True)
    return data


def keep(config: Path, data: bytes) -> None:
    write(config, data, mode=0o644)
