"""gateway.toml edited in place: what a person wrote stays as they wrote it.

The installer's commands (``edgeward provision``, ``devices add``,
``devices convert``) change a file an installer may have written and
commented by hand. They edit it with tomlkit, which keeps every comment,
the key order, each table's style (``[[serial]]`` stays a section, an
inline ``devices = [{...}]`` stays inline) and each number's spelling
(``unit = 0x0A`` stays hex); a whole-file re-emit loses all of that
(issue 16).

A new table goes after the last one of its array (or at the end of the
file for a new array), with one blank line before and after it, whatever
the file's own spacing.

Every change is checked before it is kept: the new text is written beside
gateway.toml (same directory, so relative paths resolve alike) and loaded
by the gateway's own parser (:func:`~edgeward.gateway.config.loader.load_config`);
only then may the caller register anything and :func:`replace` the file
whole (temp + rename), keeping its mode.
"""

from __future__ import annotations

import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.container import Container
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, Array, InlineTable, Table
from tomlkit.toml_document import TOMLDocument

from edgeward.gateway.config.loader import GatewayConfig, load_config
from edgeward.gateway.errors import ConfigError
from edgeward.provisioning.errors import UsageError
from edgeward.provisioning.state import write

# What a table may sit in: the document, a table, or an element of an array of tables.
Parent = TOMLDocument | Table | InlineTable | Container


def read(path: Path, what: str = "the gateway's config") -> TOMLDocument:
    """``path`` parsed with tomlkit, or :class:`UsageError` naming what is wrong."""
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UsageError(f"{what} {path}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{what} {path}: unreadable ({exc})") from exc
    except TOMLKitError as exc:
        raise UsageError(f"{what} {path}: expected valid TOML, found an error: {exc}") from exc


def new_table(values: Mapping[str, Any], *, header: bool = True) -> Table:
    """A table of ``values`` (nested mappings become sub-tables, lists of
    mappings arrays of tables), laid out as the docs write gateway.toml."""
    table = tomlkit.table(is_super_table=not header)
    for key, value in values.items():
        if isinstance(value, Mapping):
            table.add(key, new_table(value))
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            table.add(key, _new_array(value))
        else:
            table.add(key, value)
    return table


def _new_array(items: list[Mapping[str, Any]]) -> AoT:
    array = tomlkit.aot()
    for item in items:
        table = new_table(item)
        _space_before(table, array[-1].as_string() if len(array) else "x\n")
        array.append(table)
    return array


def append_table(parent: Parent, key: str, values: Mapping[str, Any] | Table) -> Table | None:
    """Add ``values`` as the last table of the array ``key`` in ``parent``.

    An array of tables gets one more ``[[key]]`` section; an inline array
    one more inline table (it stays inline); a missing array is created as
    ``[[key]]``. Returns the new section (None for an inline one).
    """
    existing = parent.get(key)
    if isinstance(existing, Array):
        inline = tomlkit.inline_table()
        inline.update(_plain(values))
        existing.append(inline)
        return None
    table = values if isinstance(values, Table) else new_table(values)
    if existing is None:
        _space_before(table, _text(parent))
        array = tomlkit.aot()
        array.append(table)
        parent.add(key, array)
    elif isinstance(existing, AoT):
        _space_before(table, existing[-1].as_string() if len(existing) else _text(parent))
        existing.append(table)
    else:
        raise UsageError(f"{key}: expected an array of tables [[{key}]], found {type(existing)}")
    _space_after(table)
    return table


def ensure_table(document: TOMLDocument, key: str) -> Table:
    """The top-level table ``key`` (``[ble]``), added at the end of the file if missing."""
    existing = document.get(key)
    if isinstance(existing, Table):
        return existing
    if existing is not None:
        raise UsageError(f"{key}: expected a table [{key}], found {type(existing).__name__}")
    table = tomlkit.table(is_super_table=False)
    _space_before(table, document.as_string())
    document.add(key, table)
    return table


def set_table(document: TOMLDocument, key: str, values: Mapping[str, Any]) -> None:
    """Make the top-level table ``key`` hold exactly ``values``: keys kept where they
    are (with their comments), others removed, new ones appended; made if missing."""
    table = document.get(key)
    if not isinstance(table, Table):
        if table is not None:
            del document[key]
        fresh = new_table(values)
        _space_before(fresh, document.as_string())
        document.add(key, fresh)
        return
    for name in [name for name in table if name not in values]:
        del table[name]
    for name, value in values.items():
        if table.get(name) != value:
            table[name] = value


def _text(parent: Parent) -> str:
    """The text a first child of ``parent`` follows (a table's header, if nothing else)."""
    if isinstance(parent, TOMLDocument | Container):
        return parent.as_string()
    return parent.as_string() or "[header]\n"


def _space_before(table: Table, before: str) -> None:
    """A blank line between ``before`` (the text the header follows) and the header."""
    if before and not before.endswith("\n\n"):
        table.trivia.indent = "\n" if before.endswith("\n") else "\n\n"


def _space_after(table: Table) -> None:
    """A blank line after the last section added, before whatever follows it
    (trimmed at the end of the file by :func:`text`)."""
    innermost: Table = table
    while True:
        last = next(reversed(innermost.value.body), None)
        if last is None or not isinstance(last[1], AoT | Table) or not len(last[1]):
            break
        item = last[1]
        innermost = item[-1] if isinstance(item, AoT) else item
    innermost.add(tomlkit.nl())


def _plain(values: Mapping[str, Any] | Table) -> dict[str, Any]:
    unwrapped = values.unwrap() if isinstance(values, Table) else dict(values)
    return dict(unwrapped)


def text(document: TOMLDocument) -> str:
    """The document as it will be written: one newline at the end, as it was read."""
    rendered = document.as_string()
    return rendered.rstrip("\n") + "\n" if rendered.strip() else rendered


def check(config: Path, rendered: str, change: str) -> GatewayConfig:
    """``rendered`` as the gateway would load it in place of ``config``, or
    :class:`UsageError` naming the key; nothing is left behind either way."""
    candidate = config.with_name(f".{config.name}.candidate")
    try:
        write(candidate, rendered.encode(), mode=0o600)
        return load_config(candidate)
    except ConfigError as exc:
        # Errors name the file they read: the candidate is gateway.toml-to-be.
        found, expected = (
            str(part).replace(str(candidate), str(config)) for part in (exc.found, exc.expected)
        )
        where = f"{exc.key}: " if exc.key else ""
        raise UsageError(
            f"{config} {change} would not load: {where}expected {expected}, found {found}",
            hint="nothing was registered or written",
        ) from exc
    finally:
        candidate.unlink(missing_ok=True)


def replace(config: Path, rendered: str) -> None:
    """Replace ``config`` whole with ``rendered``, keeping its mode (0644 if new)."""
    try:
        mode = stat.S_IMODE(config.stat().st_mode)
    except FileNotFoundError:
        mode = 0o644
    write(config, rendered.encode(), mode=mode)
