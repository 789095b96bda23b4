"""Reading back: pages of an account's readings by filter, and the latest reading per source.

Both take a :class:`~edgeward.cloud.readings.filters.ResolvedFilter`, so
they can only ever select rows of the account it was checked against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from edgeward.cloud.errors import BadRequest
from edgeward.cloud.readings.cursors import CursorKey
from edgeward.cloud.readings.filters import ResolvedFilter
from edgeward.cloud.storage.schema import data_sources, readings
from edgeward.sync.clock import from_us

MAX_PAGE = 1000
# Latest values answer one row per source in one statement; past this a
# dashboard should page through its sources instead.
MAX_LATEST_SOURCES = 1000


@dataclass(frozen=True, slots=True)
class ReadingPage:
    items: list[dict[str, Any]]
    # After the last item (or where the caller was, on an empty page): page on
    # with it while ``has_more``, or keep it to tail newer readings later.
    next_cursor: str | None
    has_more: bool


def query_readings(
    connection: sa.Connection,
    resolved: ResolvedFilter,
    key: CursorKey,
    limit: int,
    cursor: str | None = None,
) -> ReadingPage:
    """One page in (time, id) order, ascending or descending as ``key.order`` says.

    Keyset pagination: a page costs the same however deep it is, and rows
    arriving meanwhile never shift the pages already handed out.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    statement = sa.select(readings).where(*resolved.conditions())
    time, row_id = readings.c.time_us, readings.c.id
    if cursor is not None:
        after_time, after_id = key.decode(cursor)
        if key.order == "asc":
            beyond = sa.or_(time > after_time, sa.and_(time == after_time, row_id > after_id))
        else:
            beyond = sa.or_(time < after_time, sa.and_(time == after_time, row_id < after_id))
        statement = statement.where(beyond)
    ordering = (time, row_id) if key.order == "asc" else (time.desc(), row_id.desc())
    rows = connection.execute(statement.order_by(*ordering).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = key.encode(rows[-1].time_us, rows[-1].id) if rows else cursor
    return ReadingPage([describe(row, resolved) for row in rows], next_cursor, more)


def latest_readings(connection: sa.Connection, resolved: ResolvedFilter) -> list[dict[str, Any]]:
    """The newest reading (within the time range) of each source the filter covers, by source.

    One statement: for each of the account's matching sources, a correlated
    subquery walks the (account, source, time, id) index backwards to its
    newest row, so the cost grows with the number of sources, not readings.
    Sources without a reading are left out.
    """
    where = resolved.source_conditions()
    count = connection.execute(sa.select(sa.func.count()).where(*where)).scalar_one()
    if count > MAX_LATEST_SOURCES:
        raise BadRequest(
            f"{count} sources match; latest values take at most {MAX_LATEST_SOURCES}",
            field="type" if resolved.types else "source",
        )
    inner = readings.alias("newest")
    newest_id = (
        sa.select(inner.c.id)
        .where(*resolved.conditions(inner, by_source=False))
        .where(inner.c.source == data_sources.c.name)
        .order_by(inner.c.time_us.desc(), inner.c.id.desc())
        .limit(1)
        .correlate(data_sources)
        .scalar_subquery()
    )
    ids = sa.select(newest_id).where(*where)
    statement = sa.select(readings).where(readings.c.id.in_(ids)).order_by(readings.c.source)
    return [describe(row, resolved) for row in connection.execute(statement)]


def describe(row: Any, resolved: ResolvedFilter) -> dict[str, Any]:
    """A reading as the API shows it."""
    return {
        "gateway_id": row.gateway_id,
        "seq": row.seq,
        "source": row.source,
        "time": wire_time(row.time_us),
        "values": resolved.narrow(row.values),
    }


def wire_time(micros: int) -> str:
    """RFC 3339 UTC, with a fraction only when there is one: how readings showed time first."""
    return from_us(micros).isoformat().replace("+00:00", "Z")
