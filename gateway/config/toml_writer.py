"""Writing a whole new gateway.toml: provisioning's first one, the demo's, the tests'.

A small TOML emitter for what gateway.toml holds: tables, arrays of tables
(always as ``[[...]]`` sections), strings, numbers, booleans and arrays of
scalars or inline tables. The round trip through :mod:`tomllib` is tested,
so what this writes the loader reads.

A file that exists is never rewritten through here: ``edgeward provision``
and ``edgeward devices add`` edit it in place with tomlkit
(:mod:`edgeward.provisioning.gateway_toml`), keeping what a person wrote.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def dump_toml(document: Mapping[str, Any]) -> str:
    lines: list[str] = []
    _table(lines, [], document)
    return "\n".join(lines).strip() + "\n"


def _table(lines: list[str], path: list[str], table: Mapping[str, Any]) -> None:
    nested: list[tuple[str, Any]] = []
    for key, value in table.items():
        if isinstance(value, Mapping) or _is_table_array(value):
            nested.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in nested:
        child = [*path, key]
        if isinstance(value, Mapping):
            lines += ["", f"[{'.'.join(map(_key, child))}]"]
            _table(lines, child, value)
        else:
            for item in value:
                lines += ["", f"[[{'.'.join(map(_key, child))}]]"]
                _table(lines, child, item)


def _is_table_array(value: object) -> bool:
    # Every array of tables gets [[...]] headers, as gateway.toml's docs write
    # them: an inline ``serial = [{...}]`` would sit among the top-level keys,
    # above [gateway], and `edgeward devices add` would then have to extend an
    # inline array where a person expects another [[serial]] (issue 16).
    return (
        isinstance(value, list) and bool(value) and all(isinstance(item, Mapping) for item in value)
    )


def _key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
    return key if bare else _basic_string(key)


def _basic_string(text: str) -> str:
    """A TOML basic string: escape what TOML forbids raw, keep other characters as they are.

    (JSON escaping is not enough: it writes astral characters as surrogate
    pairs, which TOML rejects.)
    """
    escaped = []
    for character in text:
        if character in _ESCAPES:
            escaped.append(_ESCAPES[character])
        elif ord(character) < 0x20 or ord(character) == 0x7F:
            escaped.append(f"\\u{ord(character):04X}")
        else:
            escaped.append(character)
    return '"' + "".join(escaped) + '"'


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | Path):
        return _basic_string(str(value))
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def write_secret(path: Path, secret: str) -> None:
    """Write a secret file mode 0600 from its first byte on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    # An existing file keeps its old mode through O_CREAT: narrow it before writing.
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secret + "\n")
