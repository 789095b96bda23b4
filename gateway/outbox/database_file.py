"""Opening the outbox file: schema, the first sequence number, and moving a bad file aside.

A gateway in a field cabinet has no one to run ``sqlite3 .recover``. When
SQLite says the file is corrupt or not a database, the file (with its
``-wal`` and ``-shm``) is renamed ``outbox.db.corrupt-<UTC time>`` for an
engineer, a fresh outbox is started and the event is recorded in it, and the
gateway keeps reading devices.

Sequence numbers must never restart at 1: the cloud stores a reading once per
(gateway, seq) and would drop the new readings as duplicates of old ones. A
fresh file therefore starts its sequence above the current time in
microseconds, which is larger than any count an earlier file reached (a
file would need a million readings a second since 1970), and above any
highest sequence the caller still knows of (the moved-aside file if it
opens, the last published status), which covers a clock set back.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from edgeward.sync.clock import now_us

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key_id INTEGER NOT NULL,
    sealed BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS rejected (
    seq INTEGER PRIMARY KEY,
    key_id INTEGER NOT NULL,
    sealed BLOB NOT NULL,
    reason TEXT NOT NULL,
    rejected_us INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    first_us INTEGER NOT NULL,
    last_us INTEGER NOT NULL,
    count INTEGER NOT NULL,
    first_seq INTEGER,
    last_seq INTEGER,
    detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS event_reports (
    event_id INTEGER PRIMARY KEY,
    reported_count INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""

# SQLite's words for "this file is damaged", as opposed to busy, locked or unopenable.
CORRUPTION = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})


def is_corruption(exc: sqlite3.Error) -> bool:
    name = getattr(exc, "sqlite_errorname", "")
    return name in CORRUPTION or "malformed" in str(exc) or "not a database" in str(exc)


def connect(path: Path, synchronous: str) -> sqlite3.Connection:
    """Open and check the file; raise ``sqlite3.DatabaseError`` if it is damaged."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(f"PRAGMA synchronous={synchronous}")
        (verdict,) = connection.execute("PRAGMA quick_check").fetchone()
        if verdict != "ok":
            raise sqlite3.DatabaseError(f"database disk image is malformed: {verdict}")
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            raise sqlite3.DatabaseError(f"not a database of this gateway (version {version})")
    except BaseException:
        connection.close()
        raise
    return connection


def create_schema(connection: sqlite3.Connection, seq_floor: int) -> None:
    """Create the tables; a fresh file starts its sequence above ``seq_floor`` and now."""
    connection.executescript(SCHEMA)
    connection.execute("BEGIN IMMEDIATE")
    try:
        if connection.execute("SELECT 1 FROM meta WHERE name = 'first_seq'").fetchone() is None:
            first = max(now_us(), seq_floor)
            connection.execute("DELETE FROM sqlite_sequence WHERE name = 'readings'")
            connection.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES ('readings', ?)", (first,)
            )
            connection.executemany(
                "INSERT INTO meta (name, value) VALUES (?, ?)",
                [("first_seq", first), ("created_us", now_us())],
            )
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.execute("COMMIT")
    finally:
        if connection.in_transaction:
            connection.execute("ROLLBACK")


def highest_seq_of(path: Path) -> int:
    """The highest sequence a (possibly damaged) file recorded, or 0 if it can't say."""
    with contextlib.suppress(sqlite3.Error):
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = connection.execute(
                "SELECT seq FROM sqlite_sequence WHERE name = 'readings'"
            ).fetchone()
            return int(row[0]) if row else 0
        finally:
            connection.close()
    return 0


def move_aside(path: Path) -> Path:
    """Rename the file and its WAL companions out of the way; return the new name."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            companion.rename(target.with_name(target.name + suffix))
    if path.exists():
        path.rename(target)
    log.error("outbox %s is corrupt; moved aside to %s and starting a fresh one", path, target)
    return target


class SequenceLease:
    """A durable ceiling on the sequence numbers an outbox may have used.

    Kept beside the outbox, outside it: sequences are leased ahead in spans,
    and the lease is on disk before any sequence under it commits. A fresh
    outbox (the old one damaged, moved aside or deleted) starts above the
    lease, so its numbers never repeat ones the cloud already holds, even on
    a box whose clock came up near 1970. One fsync per LEASE_SPAN readings.
    """

    def __init__(self, outbox_path: Path) -> None:
        self.path = outbox_path.with_name(outbox_path.name + ".seq")

    def load(self) -> int:
        try:
            return int(self.path.read_text().strip())
        except (OSError, ValueError):
            return 0

    def extend(self, ceiling: int) -> None:
        temporary = self.path.with_name(self.path.name + ".tmp")
        with temporary.open("w") as handle:
            handle.write(f"{ceiling}\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


LEASE_SPAN = 1_000_000
