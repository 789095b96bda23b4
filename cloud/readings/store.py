"""Readings: storing a gateway's batch exactly once (reading them back: :mod:`.query`)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from edgeward.cloud.crypto.keys import SealedBox
from edgeward.cloud.datasources.admission import verdicts
from edgeward.cloud.datasources.sealed import open_sealed
from edgeward.cloud.security_events.store import flag
from edgeward.cloud.storage.schema import readings
from edgeward.sync.batch import Batch, BatchAck, WireReading
from edgeward.sync.clock import now_us, to_us


def store_batch(
    connection: sa.Connection, box: SealedBox, batch: Batch, account_id: str
) -> BatchAck:
    """Store the admitted readings of ``batch`` not stored before, in the caller's transaction.

    Every reading is re-checked against the registry (see
    :mod:`edgeward.cloud.datasources.admission`), and readings sealed for the
    cloud are opened and decoded here (:mod:`edgeward.cloud.datasources.sealed`);
    the rest are counted as security events and acknowledged as rejected, so
    the gateway forgets them. Dedup is by (gateway, seq): a resent batch
    stores nothing new, and the unique constraint settles the race of two
    copies arriving at once.
    """
    now = now_us()
    reasons = verdicts(connection, account_id, batch.gateway_id, (r.source for r in batch.readings))
    admitted = [r for r in batch.readings if reasons[r.source] is None]
    refused = Counter(
        (r.source, reason) for r in batch.readings if (reason := reasons[r.source]) is not None
    )
    fresh = _not_stored(connection, batch.gateway_id, admitted)
    opened = open_sealed(connection, box, account_id, batch.gateway_id, fresh)
    refused.update(opened.refused)
    flag(connection, account_id, batch.gateway_id, refused, now)
    stored = _store_new(connection, batch.gateway_id, account_id, opened.readings, now)
    return BatchAck(
        gateway_id=batch.gateway_id,
        stored=stored,
        duplicates=len(batch.readings) - stored - sum(refused.values()),
        rejected=sum(refused.values()),
        highest_seq=batch.readings[-1].seq,
    )


def _not_stored(
    connection: sa.Connection, gateway_id: str, admitted: list[WireReading]
) -> list[WireReading]:
    if not admitted:
        return []
    known = set(
        connection.execute(
            sa.select(readings.c.seq).where(
                readings.c.gateway_id == gateway_id,
                readings.c.seq.between(admitted[0].seq, admitted[-1].seq),
            )
        ).scalars()
    )
    return [reading for reading in admitted if reading.seq not in known]


def _store_new(
    connection: sa.Connection,
    gateway_id: str,
    account_id: str,
    fresh: list[WireReading],
    now: int,
) -> int:
    rows = [
        {
            "account_id": account_id,
            "gateway_id": gateway_id,
            "seq": reading.seq,
            "source": reading.source,
            "time_us": to_us(reading.time),
            "values": dict(reading.values),
            "received_us": now,
        }
        for reading in fresh
    ]
    if not rows:
        return 0
    connection.execute(_insert_ignoring_duplicates(connection), rows)
    return len(rows)


def _insert_ignoring_duplicates(connection: sa.Connection) -> Any:
    dialect = connection.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(readings).on_conflict_do_nothing(
            index_elements=["gateway_id", "seq"]
        )
    if dialect == "sqlite":
        return sqlite.insert(readings).on_conflict_do_nothing(index_elements=["gateway_id", "seq"])
    return readings.insert()
