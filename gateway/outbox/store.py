"""The durable, sealed outbox: a reading counts as taken once its commit is on disk.

SQLite in WAL mode with ``synchronous=FULL`` by default, so a committed
transaction survives a power cut, not only a crashed process. Many readings
share one transaction (group commit): the fsync is paid per batch of
readings, not per reading.

At rest a row is only ``(seq, key_id, sealed)``: source, time and values are
sealed together with AES-GCM under the keyring's current key
(:mod:`edgeward.gateway.outbox.data_keys`), with the row's ``seq`` in the associated
data so rows can't be swapped. The uplink orders and the cloud dedups by
``seq`` alone, so nothing else needs to stay readable.

Sequence numbers come from ``AUTOINCREMENT``: SQLite never reuses one, even
after the rows are deleted. A fresh file starts above the current time in
microseconds (:mod:`edgeward.gateway.outbox.database_file`), so a replaced or
corrupt-and-moved-aside outbox never restarts at 1 and the cloud's dedup by
(gateway, seq) holds across files too.

The backlog is bounded by ``max_bytes`` (sealed bytes plus an estimate of
SQLite's per-row overhead). When full, ``drop_oldest`` deletes the oldest
readings in the same transaction that adds the new ones and records a
``data_dropped`` event; ``stop_reading`` refuses the new ones with
:class:`OutboxFull`, which holds the pollers back.

All SQLite work happens on one thread owned by the outbox, so the event loop
never blocks on an fsync.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from edgeward.gateway.errors import OutboxCorrupt, OutboxError, OutboxFull, SealError
from edgeward.gateway.outbox import database_file, migrate
from edgeward.gateway.outbox.data_keys import Keyring
from edgeward.gateway.outbox.records import NewReading, OutboxStats, StoredReading
from edgeward.sync.clock import now_us

T = TypeVar("T")
log = logging.getLogger(__name__)

# Bytes SQLite spends on a row beside its sealed blob (cell pointer, header, seq, key id).
ROW_OVERHEAD = 24
DROP_OLDEST = "drop_oldest"
STOP_READING = "stop_reading"
US_PER_DAY = 86_400 * 1_000_000


__all__ = ["DROP_OLDEST", "STOP_READING", "NewReading", "Outbox", "OutboxStats", "StoredReading"]


class Outbox:
    def __init__(
        self,
        path: Path,
        *,
        synchronous: str = "full",
        keyring_path: Path | None = None,
        max_bytes: int | None = None,
        full_policy: str = DROP_OLDEST,
        key_rotation_days: float | None = None,
        seq_floor: int = 0,
    ) -> None:
        self.path = path
        self.keyring_path = keyring_path or path.with_name("outbox.keys")
        self.max_bytes = max_bytes
        self.full_policy = full_policy
        self.key_rotation_days = key_rotation_days
        self._synchronous = synchronous.upper()
        self._seq_floor = seq_floor
        self._lease = database_file.SequenceLease(path)
        self._leased = 0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox")
        self._connection: sqlite3.Connection | None = None
        self._keyring: Keyring | None = None
        self._depth = 0
        self._backlog = 0
        self._last_seq = 0
        self._full = False
        self._dropping = False
        self.quarantined: list[str] = []

    async def open(self) -> None:
        await self._run(self._open)

    async def close(self) -> None:
        await self._run(self._close)
        self._executor.shutdown(wait=True)

    async def append(self, readings: Sequence[NewReading]) -> int:
        """Seal and commit ``readings`` in one transaction; return the highest sequence given."""
        return await self._run(self._append, readings)

    async def pending(self, limit: int, *, newest: bool = False) -> list[StoredReading]:
        """Unacknowledged readings in sequence order: the oldest ``limit``, or the newest."""
        return await self._run(self._pending, limit, newest)

    async def remove_through(self, first_seq: int, last_seq: int) -> None:
        """Delete the readings the cloud acknowledged (a contiguous range of sent rows)."""
        await self._run(self._remove, first_seq, last_seq)

    async def reject(self, first_seq: int, last_seq: int, reason: str, now: int) -> int:
        """Move refused readings aside, kept (sealed) for an engineer, out of the send queue."""
        return await self._run(self._reject, first_seq, last_seq, reason, now)

    async def depth(self) -> int:
        return self._depth

    async def last_seq(self) -> int:
        return await self._run(self._read_last_seq)

    async def stats(self) -> OutboxStats:
        return await self._run(self._stats)

    async def unreported_events(self) -> list[dict[str, Any]]:
        """Events the cloud has not heard of, or not at their current count."""
        return await self._run(self._unreported_events)

    async def mark_reported(self, counts: dict[int, int]) -> None:
        """Record that the cloud has these events at these counts."""
        await self._run(self._mark_reported, counts)

    async def events(self) -> list[dict[str, Any]]:
        """The recorded events (data dropped, reading stopped, file moved aside), oldest first."""
        return await self._run(self._events)

    async def record_event(self, kind: str, detail: str) -> None:
        """Keep an event for the uplink to report (settings refused, ...); durable at once."""
        await self._run(self._record_event, kind, 1, None, None, detail)

    async def rotate_key(self) -> int:
        """Seal new rows under a fresh key from now on; return its id."""
        return await self._run(lambda: self._ring().rotate().key_id)

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._guarded, function, *args)

    # Everything below runs on the outbox thread.

    def _guarded(self, function: Callable[..., T], *args: Any) -> T:
        """Translate SQLite errors; a file found corrupt while running is replaced at once."""
        try:
            return function(*args)
        except OutboxError:
            raise
        except sqlite3.DatabaseError as exc:
            if not database_file.is_corruption(exc) or self._connection is None:
                raise OutboxError(f"{self.path}: {exc}") from exc
            self._close()
            self._start_fresh(exc)
            raise OutboxCorrupt(f"{self.path}: {exc}; a fresh outbox replaced it") from exc

    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            raise OutboxError(f"{self.path}: outbox is not open")
        return self._connection

    def _ring(self) -> Keyring:
        if self._keyring is None:
            raise OutboxError(f"{self.path}: outbox is not open")
        return self._keyring

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keyring = Keyring.load_or_create(self.keyring_path)
        self._keyring = keyring
        if self.key_rotation_days is not None:
            age_us = now_us() - keyring.current.created_us
            if age_us > self.key_rotation_days * US_PER_DAY:
                log.info("outbox key %d is due for rotation", keyring.current.key_id)
                keyring.rotate()
        try:
            self._connect()
        except sqlite3.DatabaseError as exc:
            if not database_file.is_corruption(exc):
                raise OutboxError(f"{self.path}: cannot open outbox: {exc}") from exc
            self._start_fresh(exc)
        retired = keyring.retire(self._keys_in_use())
        if retired:
            log.info("outbox keys %s retired: no row is sealed under them", retired)

    def _connect(self) -> None:
        self._leased = self._lease.load()
        connection = database_file.connect(self.path, self._synchronous)
        try:
            if migrate.needs_migration(connection):
                migrate.migrate_plaintext(connection, self._ring().seal)
            database_file.create_schema(connection, max(self._seq_floor, self._leased))
            (depth, size) = connection.execute(
                "SELECT count(*), coalesce(sum(length(sealed)), 0) FROM readings"
            ).fetchone()
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        self._depth = int(depth)
        self._backlog = int(size) + ROW_OVERHEAD * self._depth
        self._last_seq = self._read_last_seq()

    def _start_fresh(self, exc: sqlite3.Error) -> None:
        floor = max(
            self._seq_floor, self._last_seq, self._leased, database_file.highest_seq_of(self.path)
        )
        moved = database_file.move_aside(self.path)
        self.quarantined.append(moved.name)
        self._seq_floor = floor
        self._connect()
        self._record_event("outbox_quarantined", 1, None, None, f"{moved.name}: {exc}")

    def _keys_in_use(self) -> set[int]:
        rows = self._db().execute(
            "SELECT DISTINCT key_id FROM readings UNION SELECT DISTINCT key_id FROM rejected"
        )
        return {int(key_id) for (key_id,) in rows}

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _append(self, readings: Sequence[NewReading]) -> int:
        db = self._db()
        if not readings:
            return self._read_last_seq()
        keyring = self._ring()
        try:
            db.execute("BEGIN IMMEDIATE")
            first = self._read_last_seq() + 1
            rows = []
            for seq, reading in enumerate(readings, start=first):
                plaintext = json.dumps(
                    [reading.source, reading.time_us, reading.values],
                    separators=(",", ":"),
                    allow_nan=False,
                ).encode()
                key_id, sealed = keyring.seal(seq, plaintext)
                rows.append((seq, key_id, sealed))
            added = sum(len(sealed) for _, _, sealed in rows) + ROW_OVERHEAD * len(rows)
            dropped, freed = self._make_room(db, added)
            db.executemany("INSERT INTO readings (seq, key_id, sealed) VALUES (?, ?, ?)", rows)
            last = rows[-1][0]
            if last > self._leased:  # the lease is durable before any seq under it commits
                try:
                    self._lease.extend(last + database_file.LEASE_SPAN)
                except OSError as exc:
                    raise OutboxError(f"{self._lease.path}: cannot extend: {exc}") from exc
                self._leased = last + database_file.LEASE_SPAN
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            if database_file.is_corruption(exc):
                raise
            raise OutboxError(f"{self.path}: cannot commit readings: {exc}") from exc
        finally:
            if db.in_transaction:
                db.execute("ROLLBACK")
        self._depth += len(rows) - dropped
        self._backlog += added - freed
        self._last_seq = rows[-1][0]
        return self._last_seq

    def _make_room(self, db: sqlite3.Connection, added: int) -> tuple[int, int]:
        """Within the append's transaction: apply the quota before the new rows go in.

        Returns (rows, bytes) dropped, for the caller to count once the commit holds.
        """
        excess = 0 if self.max_bytes is None else self._backlog + added - self.max_bytes
        if excess <= 0:
            self._full = self._dropping = False
            return 0, 0
        if self.full_policy == STOP_READING:
            if not self._full:
                self._full = True
                self._record_event("reading_stopped", 1, None, None, "outbox full")
                db.execute("COMMIT")  # keep the event; the readings are refused
                log.error("outbox full (%d bytes): reading stops until it drains", self._backlog)
            raise OutboxFull(self._backlog, self.max_bytes or 0)
        freed = count = 0
        first = last = 0
        cursor = db.execute("SELECT seq, length(sealed) FROM readings ORDER BY seq")
        for seq, size in cursor:
            first = first or seq
            last = seq
            count += 1
            freed += size + ROW_OVERHEAD
            if freed >= excess:
                break
        cursor.close()
        if count:
            db.execute("DELETE FROM readings WHERE seq <= ?", (last,))
            self._record_event("data_dropped", count, first, last, "outbox full: oldest dropped")
            if not self._dropping:
                self._dropping = True
                log.error(
                    "outbox at its quota (%d bytes): dropping the oldest readings", self._backlog
                )
        return count, freed

    def _record_event(
        self, kind: str, count: int, first_seq: int | None, last_seq: int | None, detail: str
    ) -> None:
        """Merge into the latest event of the same kind (a long outage is one record)."""
        db = self._db()
        now = now_us()
        latest = db.execute("SELECT id, kind FROM events ORDER BY id DESC LIMIT 1").fetchone()
        if latest is not None and latest[1] == kind == "data_dropped":
            db.execute(
                "UPDATE events SET last_us = ?, count = count + ?, last_seq = ? WHERE id = ?",
                (now, count, last_seq, latest[0]),
            )
            return
        db.execute(
            "INSERT INTO events (kind, first_us, last_us, count, first_seq, last_seq, detail) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (kind, now, now, count, first_seq, last_seq, detail),
        )

    def _pending(self, limit: int, newest: bool) -> list[StoredReading]:
        order = "DESC" if newest else "ASC"
        rows = (
            self._db()
            .execute(
                f"SELECT seq, key_id, sealed FROM readings ORDER BY seq {order} LIMIT ?",  # noqa: S608
                (limit,),
            )
            .fetchall()
        )
        if newest:
            rows.reverse()
        keyring = self._ring()
        readings: list[StoredReading] = []
        bad: list[tuple[int, str]] = []
        for seq, key_id, sealed in rows:
            try:
                plaintext = keyring.open(seq, key_id, sealed)
            except SealError as exc:
                bad.append((seq, exc.reason))
                continue
            source, time_us, values = json.loads(plaintext)
            readings.append(StoredReading(seq, source, time_us, values, len(plaintext)))
        for seq, reason in bad:
            log.error("outbox row %d does not open (%s); set aside", seq, reason)
            self._reject(seq, seq, f"unsealing failed: {reason}", now_us())
        return readings

    def _remove(self, first_seq: int, last_seq: int) -> None:
        sizes = (
            self._db()
            .execute(
                "DELETE FROM readings WHERE seq BETWEEN ? AND ? RETURNING length(sealed)",
                (first_seq, last_seq),
            )
            .fetchall()
        )
        self._depth -= len(sizes)
        self._backlog -= sum(size for (size,) in sizes) + ROW_OVERHEAD * len(sizes)

    def _reject(self, first_seq: int, last_seq: int, reason: str, now: int) -> int:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            moved = db.execute(
                "INSERT INTO rejected (seq, key_id, sealed, reason, rejected_us) "
                "SELECT seq, key_id, sealed, ?, ? FROM readings WHERE seq BETWEEN ? AND ?",
                (reason, now, first_seq, last_seq),
            ).rowcount
            self._remove(first_seq, last_seq)
            db.execute("COMMIT")
        finally:
            if db.in_transaction:
                db.execute("ROLLBACK")
        return moved

    def _read_last_seq(self) -> int:
        row = self._db().execute("SELECT seq FROM sqlite_sequence WHERE name='readings'").fetchone()
        return int(row[0]) if row else 0

    def _stats(self) -> OutboxStats:
        db = self._db()
        oldest = self._pending(1, False)
        (dropped,) = db.execute(
            "SELECT coalesce(sum(count), 0) FROM events WHERE kind = 'data_dropped'"
        ).fetchone()
        (rejected,) = db.execute("SELECT count(*) FROM rejected").fetchone()
        (first,) = db.execute("SELECT value FROM meta WHERE name = 'first_seq'").fetchone()
        return OutboxStats(
            depth=self._depth,
            backlog_bytes=self._backlog,
            max_bytes=self.max_bytes,
            first_seq=int(first),
            last_seq=self._read_last_seq(),
            oldest_time_us=oldest[0].time_us if oldest else None,
            dropped_total=int(dropped),
            rejected_total=int(rejected),
            full=self._full,
            quarantined=tuple(self.quarantined),
        )

    def _unreported_events(self) -> list[dict[str, Any]]:
        cursor = self._db().execute(
            "SELECT e.id, e.kind, e.first_us, e.last_us, e.count, e.first_seq, e.last_seq, "
            "e.detail FROM events e LEFT JOIN event_reports r ON r.event_id = e.id "
            "WHERE r.reported_count IS NULL OR e.count > r.reported_count ORDER BY e.id LIMIT 1000"
        )
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    def _mark_reported(self, counts: dict[int, int]) -> None:
        self._db().executemany(
            "INSERT INTO event_reports (event_id, reported_count) VALUES (?, ?) "
            "ON CONFLICT (event_id) DO UPDATE SET reported_count = excluded.reported_count",
            list(counts.items()),
        )

    def _events(self) -> list[dict[str, Any]]:
        cursor = self._db().execute(
            "SELECT kind, first_us, last_us, count, first_seq, last_seq, detail "
            "FROM events ORDER BY id"
        )
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]
