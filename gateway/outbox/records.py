"""What goes into the outbox and what comes out: plain records, no SQLite, no keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class NewReading:
    source: str
    time_us: int
    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredReading:
    seq: int
    source: str
    time_us: int
    values: dict[str, Any]
    # Plaintext bytes of the reading, what it costs in an uplink batch (about).
    size: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class OutboxStats:
    depth: int
    backlog_bytes: int
    max_bytes: int | None
    first_seq: int
    last_seq: int
    oldest_time_us: int | None
    dropped_total: int
    rejected_total: int
    full: bool
    quarantined: tuple[str, ...]
