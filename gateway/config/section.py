"""One TOML table of gateway.toml and where it sits, so every error can name its key.

Shared by :mod:`edgeward.gateway.config.loader` and the per-transport parsers
(``config_modbus``, ``config_serial``, ``config_mqtt``) so that each stays small.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from edgeward.gateway.errors import ConfigError
from edgeward.sync.batch import IDENTIFIER_RULE, is_identifier

MISSING = object()


class Section:
    """One TOML table and where it sits, so every error can name its key."""

    def __init__(self, file: Path, where: str, data: object) -> None:
        self.file = file
        self.where = where
        if not isinstance(data, dict):
            raise ConfigError(file, where, "a table", type(data).__name__)
        self.data: dict[str, Any] = data

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def error(self, name: str, expected: str, found: object) -> ConfigError:
        return ConfigError(self.file, self.key(name), expected, found)

    def allow(self, *names: str) -> None:
        for name in self.data:
            if name not in names:
                raise self.error(name, f"one of the keys {', '.join(names)}", "an unknown key")

    def _get(self, name: str, default: object, expected: str) -> object:
        value = self.data.get(name, default)
        if value is MISSING:
            raise self.error(name, expected, "nothing (the key is missing)")
        return value

    def section(self, name: str, *, required: bool = True) -> Section:
        value = self._get(name, MISSING if required else {}, f"a [{self.key(name)}] table")
        return Section(self.file, self.key(name), value)

    def sections(self, name: str) -> list[Section]:
        value = self.data.get(name, [])
        if not isinstance(value, list):
            raise self.error(name, f"an array of tables [[{self.key(name)}]]", type(value).__name__)
        return [Section(self.file, f"{self.key(name)}[{i}]", item) for i, item in enumerate(value)]

    def string(self, name: str) -> str:
        value = self._get(name, MISSING, "a non-empty string")
        if not isinstance(value, str) or not value.strip():
            raise self.error(name, "a non-empty string", repr(value))
        return value

    def identifier(self, name: str) -> str:
        value = self.string(name)
        if not is_identifier(value):
            raise self.error(name, IDENTIFIER_RULE, repr(value))
        return value

    def path(self, name: str) -> Path:
        return (self.file.parent / self.string(name)).resolve()

    def integer(self, name: str, low: int, high: int, default: object = MISSING) -> int:
        expected = f"an integer from {low} to {high}"
        value = self._get(name, default, expected)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.error(name, expected, repr(value))
        return value

    def number(self, name: str, low: float, high: float, default: object = MISSING) -> float:
        expected = f"a number from {low:g} to {high:g}"
        value = self._get(name, default, expected)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            raise self.error(name, expected, repr(value))
        return float(value)

    def choice(self, name: str, options: tuple[str, ...], default: object = MISSING) -> str:
        expected = "one of " + ", ".join(repr(str(option)) for option in options)
        value = self._get(name, default, expected)
        if value not in options:
            raise self.error(name, expected, repr(value))
        return str(value)

    def refuse_moved(self, *names: str) -> None:
        """Refuse keys that older gateway.toml files held and the data-source type holds now.

        An inline register map or decoder that is silently ignored would let
        the file and the type disagree unseen; refused, the installer learns
        where the description went and how to move it.
        """
        for name in names:
            if name in self.data:
                raise self.error(
                    name,
                    f"no {name!r} here: the source's data-source type describes how to read "
                    f"and decode it (`edgeward devices convert --config {self.file}` moves "
                    "it into a type)",
                    f"{name!r}",
                )

    def optional_string(self, name: str) -> str | None:
        if name not in self.data:
            return None
        return self.string(name)

    def boolean(self, name: str, default: bool) -> bool:
        value = self.data.get(name, default)
        if not isinstance(value, bool):
            raise self.error(name, "true or false", repr(value))
        return value

    def identifiers(self, name: str) -> tuple[str, ...]:
        """A non-empty array of distinct identifiers."""
        value = self._get(name, MISSING, "an array of names")
        if not isinstance(value, list) or not value:
            raise self.error(name, "a non-empty array of names", repr(value))
        for item in value:
            if not isinstance(item, str) or not is_identifier(item):
                raise self.error(name, IDENTIFIER_RULE, repr(item))
        if len(set(value)) != len(value):
            raise self.error(name, "names that differ from each other", repr(value))
        return tuple(value)

    def secret_file(self, name: str, holding: str) -> str:
        """The stripped content of the secret file at ``name``, refused unless only
        its owner can read it (like ssh with its keys) and it holds something."""
        path = self.path(name)
        try:
            mode = path.stat().st_mode
            secret = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise self.error(name, "a readable file", exc.strerror or str(exc)) from exc
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise self.error(
                name, "a file only its owner can read (chmod 600)", f"mode {stat.S_IMODE(mode):04o}"
            )
        if not secret:
            raise self.error(name, f"a file holding {holding}", "empty file")
        return secret
