"""Exceptions of the gateway package.

::

    GatewayError
    ├── ConfigError        gateway.toml is wrong: file, key, expected, found
    ├── KeyringError       the outbox keyring can't be read, or is readable by others
    └── OutboxError        the outbox file can't be opened or written
        ├── OutboxCorrupt  the file is not a sound SQLite database (moved aside)
        ├── OutboxFull     the backlog reached its quota and the policy is stop_reading
        └── SealError      a row does not open: tampered, moved, or its key is gone
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


class KeyringError(GatewayError):
    """The keyring file is unreadable, malformed or not private; never quotes a key."""


class OutboxError(GatewayError):
    """The outbox file failed; nothing was taken by the failing call."""


class OutboxCorrupt(OutboxError):
    """SQLite reports the file corrupt or not a database; it is moved aside, not retried."""


class OutboxFull(OutboxError):
    """The backlog is at ``max_bytes`` and the policy keeps the oldest readings."""

    def __init__(self, backlog_bytes: int, max_bytes: int) -> None:
        super().__init__(f"outbox full: {backlog_bytes} of {max_bytes} bytes")
        self.backlog_bytes = backlog_bytes
        self.max_bytes = max_bytes


class SealError(OutboxError):
    """A sealed row failed authentication; carries the row's sequence number."""

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"outbox row {seq}: {reason}")
        self.seq = seq
        self.reason = reason
