"""Upgrading an outbox written before sealing: schema 1 kept readings in plaintext.

A gateway updated in the field may hold a backlog from the old version, and
those readings must neither be lost nor stay readable on disk. At the first
open, every row (waiting and set aside) is sealed in one transaction under
its own seq, keeping the sequence where it was, so the cloud's dedup still
holds. ``secure_delete`` and a ``VACUUM`` then rewrite the file, so no page
of the old plaintext is left behind in the file or its WAL.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable

from edgeward.gateway.outbox.database_file import SCHEMA, SCHEMA_VERSION
from edgeward.sync.clock import now_us

log = logging.getLogger(__name__)

Seal = Callable[[int, bytes], tuple[int, bytes]]


def needs_migration(connection: sqlite3.Connection) -> bool:
    columns = {row[1] for row in connection.execute("PRAGMA table_info(readings)")}
    return "payload" in columns


def migrate_plaintext(connection: sqlite3.Connection, seal: Seal) -> int:
    """Seal a schema-1 outbox in place; return how many rows were sealed."""
    connection.execute("PRAGMA secure_delete = ON")
    connection.execute("BEGIN IMMEDIATE")
    try:
        row = connection.execute("SELECT seq FROM sqlite_sequence WHERE name='readings'").fetchone()
        last = int(row[0]) if row else 0
        connection.execute("ALTER TABLE readings RENAME TO readings_v1")
        connection.execute("ALTER TABLE rejected RENAME TO rejected_v1")
        for statement in SCHEMA.split(";"):
            if statement.strip():
                connection.execute(statement)
        sealed = _seal_table(connection, seal, "readings_v1", "readings", "")
        sealed += _seal_table(connection, seal, "rejected_v1", "rejected", ", reason, rejected_us")
        connection.execute("DROP TABLE readings_v1")
        connection.execute("DROP TABLE rejected_v1")
        connection.execute("DELETE FROM sqlite_sequence WHERE name IN ('readings', 'readings_v1')")
        connection.execute(
            "INSERT INTO sqlite_sequence (name, seq) VALUES ('readings', ?)", (last,)
        )
        # Schema 1 numbered from 1: the file's first sequence is 0 + 1.
        connection.executemany(
            "INSERT INTO meta (name, value) VALUES (?, ?)",
            [("first_seq", 0), ("created_us", now_us())],
        )
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.execute("COMMIT")
    finally:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
    connection.execute("VACUUM")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.execute("PRAGMA secure_delete = OFF")
    log.info("outbox upgraded: %d plaintext rows sealed", sealed)
    return sealed


def _seal_table(
    connection: sqlite3.Connection, seal: Seal, source_table: str, target: str, extra: str
) -> int:
    rows = connection.execute(
        f"SELECT seq, source, time_us, payload{extra} FROM {source_table}"  # noqa: S608
    ).fetchall()
    sealed_rows = []
    for seq, source, time_us, payload, *rest in rows:
        plaintext = json.dumps(
            [source, time_us, json.loads(payload)], separators=(",", ":"), allow_nan=False
        ).encode()
        key_id, blob = seal(seq, plaintext)
        sealed_rows.append((seq, key_id, blob, *rest))
    marks = ", ".join("?" * (3 + extra.count(",")))
    connection.executemany(
        f"INSERT INTO {target} (seq, key_id, sealed{extra}) VALUES ({marks})",  # noqa: S608
        sealed_rows,
    )
    return len(sealed_rows)
