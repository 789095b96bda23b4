"""What admission must remember across restarts: replay counters and security-event rows.

One small SQLite file beside the outbox (``admission.db`` in the data dir),
kept apart from ``outbox.db`` because its life is different: the outbox may
be moved aside when corrupt and started fresh, and a fresh replay table
would reopen every replay the old one closed.

* ``replay``: the highest authenticated counter per source. Admission moves
  it before a reading is queued, so a restart never admits a report seen
  before. WAL with ``synchronous=NORMAL``: every commit survives a crash of
  the process; a power cut may lose the last moments' advances, which is the
  one window left open (and the cloud's dedup of the readings themselves
  still holds).
* ``security_events``: refusals aggregated per (window, source, reason) with
  a running count. The store, not the flood, sets the cost: at most
  ``MAX_KEYS_PER_WINDOW`` rows per window (the rest fold into one
  ``("*", "overflow")`` row) and ``MAX_ROWS`` rows in all (reported rows go
  first, then the oldest), so 10,000 rogue reports cost a handful of rows.
  ``reported_count`` is what the cloud has acknowledged; a row that grew is
  sent again with its new total, and the cloud keeps the largest. Each row
  also keeps its latest refusal's ``field``, ``value`` (bounded, never a
  credential: see :func:`~edgeward.gateway.admission.policy.refusal_of`) and
  ``detail``, so the security event says why. A file from before these
  columns gains them at open (``ALTER TABLE ... ADD COLUMN``, NULL in old rows).
"""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from edgeward.drivers.base import Refusal

log = logging.getLogger(__name__)

WINDOW_US = 60 * 1_000_000
MAX_KEYS_PER_WINDOW = 64
MAX_ROWS = 5000
OVERFLOW = ("*", "overflow")

SCHEMA = """
CREATE TABLE IF NOT EXISTS replay (
    source TEXT PRIMARY KEY,
    counter INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS security_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    window_start_us INTEGER NOT NULL,
    source TEXT NOT NULL,
    reason TEXT NOT NULL,
    count INTEGER NOT NULL,
    first_us INTEGER NOT NULL,
    last_us INTEGER NOT NULL,
    reported_count INTEGER NOT NULL DEFAULT 0,
    field TEXT,
    value TEXT,
    detail TEXT,
    UNIQUE (window_start_us, source, reason)
);
"""
# Columns added after the first release, for files that predate them.
ADDED_COLUMNS = ("field", "value", "detail")


class AdmissionStore:
    """Used from the event loop only: each call is one short transaction (no fsync wait)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.executescript(SCHEMA)
        self._add_columns()
        path.chmod(0o600)

    def _add_columns(self) -> None:
        present = {row[1] for row in self._db.execute("PRAGMA table_info(security_events)")}
        for column in ADDED_COLUMNS:
            if column not in present:
                self._db.execute(f"ALTER TABLE security_events ADD COLUMN {column} TEXT")

    def close(self) -> None:
        self._db.close()

    # The replay guard (admission.ReplayGuard).

    def last(self, source: str) -> int:
        row = self._db.execute("SELECT counter FROM replay WHERE source = ?", (source,)).fetchone()
        return int(row[0]) if row else 0

    def advance(self, source: str, counter: int) -> None:
        self._db.execute(
            "INSERT INTO replay (source, counter) VALUES (?, ?) ON CONFLICT (source) "
            "DO UPDATE SET counter = max(counter, excluded.counter)",
            (source, counter),
        )

    # Security events.

    def record(
        self,
        counts: Counter[tuple[str, str]],
        now: int,
        latest: Mapping[tuple[str, str], Refusal] | None = None,
    ) -> None:
        """Add ``counts`` of (source, reason) to the rows of the window ``now`` falls in;
        a key in ``latest`` sets its row's field, value and detail to that refusal's."""
        if not counts:
            return
        window = now - now % WINDOW_US
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            known = {
                (source, reason)
                for source, reason in db.execute(
                    "SELECT source, reason FROM security_events WHERE window_start_us = ?",
                    (window,),
                )
            }
            for key, count in sorted(counts.items()):
                refusal = (latest or {}).get(key)
                if key not in known and len(known) >= MAX_KEYS_PER_WINDOW - 1:
                    key, refusal = OVERFLOW, None
                known.add(key)
                field, value, detail = (
                    (None, None, None)
                    if refusal is None
                    else (refusal.field, refusal.value, refusal.detail)
                )
                db.execute(
                    "INSERT INTO security_events (window_start_us, source, reason, count, "
                    "first_us, last_us, field, value, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (window_start_us, source, reason) DO UPDATE SET "
                    "count = count + excluded.count, last_us = excluded.last_us, "
                    "field = CASE WHEN ? THEN excluded.field ELSE field END, "
                    "value = CASE WHEN ? THEN excluded.value ELSE value END, "
                    "detail = CASE WHEN ? THEN excluded.detail ELSE detail END",
                    (window, key[0][:128], key[1][:64], count, now, now, field, value, detail)
                    + (refusal is not None,) * 3,
                )
            self._prune(db)
            db.execute("COMMIT")
        finally:
            if db.in_transaction:
                db.execute("ROLLBACK")

    def _prune(self, db: sqlite3.Connection) -> None:
        (rows,) = db.execute("SELECT count(*) FROM security_events").fetchone()
        excess = rows - MAX_ROWS
        if excess <= 0:
            return
        # Reported rows first (the cloud has them), then the oldest windows.
        db.execute(
            "DELETE FROM security_events WHERE id IN (SELECT id FROM security_events "
            "ORDER BY count > reported_count, window_start_us, id LIMIT ?)",
            (excess,),
        )
        log.warning("security-event store full: %d oldest rows pruned", excess)

    def unreported(self, limit: int = 500) -> list[dict[str, Any]]:
        cursor = self._db.execute(
            "SELECT id, window_start_us, source, reason, count, first_us, last_us, "
            "field, value, detail FROM security_events WHERE count > reported_count "
            "ORDER BY id LIMIT ?",
            (limit,),
        )
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    def mark_reported(self, counts: dict[int, int]) -> None:
        self._db.executemany(
            "UPDATE security_events SET reported_count = max(reported_count, ?) WHERE id = ?",
            [(count, row_id) for row_id, count in counts.items()],
        )

    def totals(self) -> dict[str, Any]:
        """Refusals by reason, and rows, for status.json."""
        by_reason = dict(
            self._db.execute(
                "SELECT reason, sum(count) FROM security_events GROUP BY reason ORDER BY reason"
            ).fetchall()
        )
        (rows, unreported) = self._db.execute(
            "SELECT count(*), coalesce(sum(count > reported_count), 0) FROM security_events"
        ).fetchone()
        return {"by_reason": by_reason, "rows": rows, "unreported_rows": unreported}
