"""Time on the wire and at rest: UTC, microsecond resolution.

Both sides store times as integer microseconds since the Unix epoch (exact,
ordered alike in SQLite and PostgreSQL) and send them as RFC 3339 strings.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def now_us() -> int:
    return time.time_ns() // 1000


def to_us(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(micros: int) -> datetime:
    seconds, remainder = divmod(micros, 1_000_000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=remainder)


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds, the one time format on the wire."""
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format_us(micros: int | None) -> str | None:
    """A stored time as the API shows it, RFC 3339 UTC; None stays None."""
    return None if micros is None else format_time(from_us(micros))
