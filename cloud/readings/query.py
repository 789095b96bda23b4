"""Reading back: pages of an account's readings by filter, and the latest reading per source.

Both take a :class:`~edgeward.cloud.readings.filters.ResolvedFilter`, so
they can only ever select rows of the account it was checked against.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from edgeward.cloud.errors import BadRequest
from edgeward.cloud.readings.cursors import CursorKey
from edgeward.cloud.readings.filters import ResolvedFilter
from edgeward.cloud.storage.schema import readings
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
    if resolved.sources and not resolved.types and resolved.filter.gateway_id is None:
        names = list(resolved.sources)  # resolve() found every one of them registered
    else:
        names = resolved.registered_sources(connection)
    if len(names) > MAX_LATEST_SOURCES:
        raise BadRequest(
            f"{len(names)} sources match; latest values take at most {MAX_LATEST_SOURCES}",
            field="type" if resolved.types else "source",
        )
    if not names:
        return []
    wanted = _names_table(connection.dialect.name, names)
    inner = readings.alias("newest")
    newest_id = (
        sa.select(inner.c.id)
        .where(*resolved.conditions(inner, by_source=False))
        .where(inner.c.source == wanted.c.name)
        .order_by(inner.c.time_us.desc(), inner.c.id.desc())
        .limit(1)
        .correlate(wanted)
        .scalar_subquery()
    )
    # A derived table, not ``id IN (...)``: PostgreSQL then runs the subquery
    # once per source instead of twice (once to hash, once to probe). A
    # LATERAL join (PostgreSQL only) measured no faster.
    ids = sa.select(newest_id.label("id")).select_from(wanted).subquery("ids")
    statement = (
        sa.select(*_shown(readings))
        .join_from(ids, readings, readings.c.id == ids.c.id)
        .order_by(readings.c.source)
    )
    return [describe(row, resolved) for row in connection.execute(statement).all()]


def _shown(table: sa.FromClause) -> list[sa.ColumnElement[Any]]:
    """The columns a reading shows (latest values read no more than these)."""
    return [table.c[name] for name in ("gateway_id", "seq", "source", "time_us", "values")]


def _names_table(dialect: str, names: list[str]) -> sa.FromClause:
    """``names`` as a one-column table ``name``, passed as one parameter: ``unnest`` of an
    array on PostgreSQL, ``json_each`` of a JSON list on SQLite."""
    if dialect == "postgresql":
        array = sa.bindparam("names", names, type_=ARRAY(sa.String))
        return sa.func.unnest(array).table_valued("name").render_derived(name="wanted")
    listed = sa.bindparam("names", json.dumps(names), type_=sa.Text)
    each = sa.func.json_each(listed).table_valued("value")
    return sa.select(each.c.value.label("name")).subquery("wanted")


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
