"""The durable outbox: a reading counts as taken once its commit is on disk.

SQLite in WAL mode with ``synchronous=FULL`` by default, so a committed
transaction survives a power cut, not only a crashed process. Many readings
share one transaction (group commit): the fsync is paid per batch of
readings, not per reading.

Sequence numbers come from ``AUTOINCREMENT``: SQLite never reuses one, even
after the rows are deleted, and a rolled-back or interrupted transaction
leaves no gap behind. They are the ``seq`` of the wire contract, so the
cloud's dedup by (gateway, seq) holds across restarts.

All SQLite work happens on one thread owned by the outbox, so the event loop
never blocks on an fsync.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from edgeward.gateway.errors import OutboxError

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    time_us INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS rejected (
    seq INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    time_us INTEGER NOT NULL,
    payload BLOB NOT NULL,
    reason TEXT NOT NULL,
    rejected_us INTEGER NOT NULL
);
"""


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


class Outbox:
    def __init__(self, path: Path, *, synchronous: str = "full") -> None:
        self.path = path
        self._synchronous = synchronous.upper()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox")
        self._connection: sqlite3.Connection | None = None

    async def open(self) -> None:
        await self._run(self._open)

    async def close(self) -> None:
        await self._run(self._close)
        self._executor.shutdown(wait=True)

    async def append(self, readings: Sequence[NewReading]) -> int:
        """Commit ``readings`` in one transaction; return the highest sequence given."""
        return await self._run(self._append, readings)

    async def pending(self, limit: int) -> list[StoredReading]:
        """The oldest readings not yet acknowledged, in sequence order."""
        return await self._run(self._pending, limit)

    async def remove_through(self, first_seq: int, last_seq: int) -> None:
        """Delete the readings the cloud acknowledged (a contiguous range of sent rows)."""
        await self._run(self._remove, first_seq, last_seq)

    async def reject(self, first_seq: int, last_seq: int, reason: str, now_us: int) -> int:
        """Move refused readings aside, kept for an engineer, out of the send queue."""
        return await self._run(self._reject, first_seq, last_seq, reason, now_us)

    async def depth(self) -> int:
        return await self._run(self._count, "readings")

    async def last_seq(self) -> int:
        return await self._run(self._last_seq)

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, function, *args)

    # Everything below runs on the outbox thread.

    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            raise OutboxError(f"{self.path}: outbox is not open")
        return self._connection

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(f"PRAGMA synchronous={self._synchronous}")
            connection.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise OutboxError(f"{self.path}: cannot open outbox: {exc}") from exc
        self._connection = connection

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _append(self, readings: Sequence[NewReading]) -> int:
        db = self._db()
        if not readings:
            return self._last_seq()
        rows = [
            (reading.source, reading.time_us, json.dumps(reading.values, allow_nan=False).encode())
            for reading in readings
        ]
        try:
            db.execute("BEGIN IMMEDIATE")
            db.executemany("INSERT INTO readings (source, time_us, payload) VALUES (?, ?, ?)", rows)
            (last,) = db.execute("SELECT seq FROM sqlite_sequence WHERE name='readings'").fetchone()
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise OutboxError(f"{self.path}: cannot commit readings: {exc}") from exc
        finally:
            if db.in_transaction:
                db.execute("ROLLBACK")
        return int(last)

    def _pending(self, limit: int) -> list[StoredReading]:
        rows = self._db().execute(
            "SELECT seq, source, time_us, payload FROM readings ORDER BY seq LIMIT ?", (limit,)
        )
        return [
            StoredReading(seq=seq, source=source, time_us=time_us, values=json.loads(payload))
            for seq, source, time_us, payload in rows
        ]

    def _remove(self, first_seq: int, last_seq: int) -> None:
        self._db().execute("DELETE FROM readings WHERE seq BETWEEN ? AND ?", (first_seq, last_seq))

    def _reject(self, first_seq: int, last_seq: int, reason: str, now_us: int) -> int:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        moved = db.execute(
            "INSERT INTO rejected (seq, source, time_us, payload, reason, rejected_us) "
            "SELECT seq, source, time_us, payload, ?, ? FROM readings WHERE seq BETWEEN ? AND ?",
            (reason, now_us, first_seq, last_seq),
        ).rowcount
        db.execute("DELETE FROM readings WHERE seq BETWEEN ? AND ?", (first_seq, last_seq))
        db.execute("COMMIT")
        return moved

    def _count(self, table: str) -> int:
        (count,) = self._db().execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
        return int(count)

    def _last_seq(self) -> int:
        row = self._db().execute("SELECT seq FROM sqlite_sequence WHERE name='readings'").fetchone()
        return int(row[0]) if row else 0
