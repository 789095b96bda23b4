"""Exceptions of the gateway package.

::

    GatewayError
    ├── ConfigError        gateway.toml is wrong: file, key, expected, found
    └── OutboxError        the outbox file can't be opened or written
"""

from __future__ import annotations

from pathlib import Path


class GatewayError(Exception):
    """Base of every error raised by :mod:`edgeward.gateway`."""


class ConfigError(GatewayError):
    def __init__(self, file: Path, key: str, expected: str, found: object) -> None:
        where = f"{file}: {key}" if key else str(file)
        super().__init__(f"{where}: expected {expected}, found {found}")
        self.file = file
        self.key = key
        self.expected = expected
        self.found = found


class OutboxError(GatewayError):
    """The outbox file failed; nothing was taken by the failing call."""
