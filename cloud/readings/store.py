"""Readings: storing a gateway's batch exactly once, and paging through them."""

from __future__ import annotations

import base64
import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from edgeward.cloud.crypto.keys import SealedBox
from edgeward.cloud.datasources.admission import verdicts
from edgeward.cloud.datasources.sealed import open_sealed
from edgeward.cloud.errors import BadRequest
from edgeward.cloud.security_events.store import flag
from edgeward.cloud.storage.schema import readings
from edgeward.sync.batch import Batch, BatchAck, WireReading
from edgeward.sync.clock import from_us, now_us, to_us

MAX_PAGE = 1000


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


@dataclass(frozen=True, slots=True)
class ReadingQuery:
    account_id: str
    source: str
    since: datetime | None = None
    until: datetime | None = None
    gateway_id: str | None = None
    limit: int = 100
    cursor: str | None = None


@dataclass(frozen=True, slots=True)
class ReadingPage:
    items: list[dict[str, Any]]
    # After the last item (or where the caller was, on an empty page): page on
    # with it while ``has_more``, or keep it to tail newer readings later.
    next_cursor: str | None
    has_more: bool


def query_readings(connection: sa.Connection, query: ReadingQuery) -> ReadingPage:
    """One page in (time, id) order; ``next_cursor`` continues after its last row.

    Keyset pagination: a page costs the same however deep it is, and rows
    arriving meanwhile never shift the pages already handed out.
    """
    if not 1 <= query.limit <= MAX_PAGE:
        raise BadRequest(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    statement = sa.select(readings).where(
        readings.c.account_id == query.account_id, readings.c.source == query.source
    )
    if query.gateway_id is not None:
        statement = statement.where(readings.c.gateway_id == query.gateway_id)
    if query.since is not None:
        statement = statement.where(readings.c.time_us >= to_us(query.since))
    if query.until is not None:
        statement = statement.where(readings.c.time_us < to_us(query.until))
    if query.cursor is not None:
        after_time, after_id = _decode_cursor(query.cursor)
        statement = statement.where(
            sa.or_(
                readings.c.time_us > after_time,
                sa.and_(readings.c.time_us == after_time, readings.c.id > after_id),
            )
        )
    statement = statement.order_by(readings.c.time_us, readings.c.id).limit(query.limit + 1)
    rows = connection.execute(statement).all()
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    items = [
        {
            "gateway_id": row.gateway_id,
            "seq": row.seq,
            "source": row.source,
            "time": from_us(row.time_us).isoformat().replace("+00:00", "Z"),
            "values": row.values,
        }
        for row in rows
    ]
    next_cursor = _encode_cursor(rows[-1].time_us, rows[-1].id) if rows else query.cursor
    return ReadingPage(items=items, next_cursor=next_cursor, has_more=more)


def _encode_cursor(time_us: int, row_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([time_us, row_id]).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        time_us, row_id = json.loads(base64.urlsafe_b64decode(padded))
        if not all(isinstance(n, int) and 0 <= n < 2**63 for n in (time_us, row_id)):
            raise TypeError
    except (ValueError, TypeError) as exc:
        raise BadRequest("cursor is not one this API handed out", field="cursor") from exc
    return time_us, row_id
