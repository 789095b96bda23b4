"""Aggregates of numeric fields over time buckets, per source, computed by the database.

Buckets are ``[since + k*bucket, since + (k+1)*bucket)``, aligned on
``since``; a bucket in which a source has no numeric value of any asked
field is left out. The statement is the same on SQLite and PostgreSQL:
the values are JSON, so each field is extracted with the database's own
JSON functions (``json_type``/``json_extract`` on SQLite, ``json_typeof``
and ``->>`` on PostgreSQL) and only JSON numbers count: a string or boolean
under a numeric field's name is skipped, never cast (a cast would fail
the whole query on PostgreSQL).

``first`` and ``last`` are window functions over each (source, bucket),
ordered by (time, id) with the rows lacking the field last, so the first
and last *values* are taken, not the first and last rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from edgeward.cloud.errors import BadRequest
from edgeward.cloud.readings.filters import ResolvedFilter
from edgeward.cloud.readings.query import wire_time
from edgeward.cloud.storage.schema import readings
from edgeward.sync.clock import to_us

FUNCTIONS = ("count", "min", "max", "avg", "sum", "first", "last")
MAX_BUCKETS = 1440  # a day by the minute
MAX_BUCKET_US = 366 * 86_400 * 1_000_000
# Sources times buckets: the most rows one answer may hold.
MAX_SERIES_POINTS = 100_000

_GROUPED: dict[str, Callable[..., sa.ColumnElement[Any]]] = {
    "count": sa.func.count,
    "min": sa.func.min,
    "max": sa.func.max,
    "avg": sa.func.avg,
    "sum": sa.func.sum,
}


def bucket_count(resolved: ResolvedFilter, bucket: timedelta) -> int:
    """How many buckets ``since..until`` holds; 400 naming the parameter at fault."""
    since, until = resolved.filter.since, resolved.filter.until
    for name, moment in (("since", since), ("until", until)):
        if moment is None:
            raise BadRequest(f"aggregates need {name}", field=name)
    assert since is not None and until is not None
    bucket_us = _micros(bucket)
    if not 1_000_000 <= bucket_us <= MAX_BUCKET_US:
        raise BadRequest("bucket must be between one second and 366 days", field="bucket")
    buckets = -(-(to_us(until) - to_us(since)) // bucket_us)
    if buckets > MAX_BUCKETS:
        raise BadRequest(
            f"{buckets} buckets of {bucket_us // 1_000_000} s; at most {MAX_BUCKETS}",
            field="bucket",
        )
    return buckets


def aggregate(
    connection: sa.Connection,
    resolved: ResolvedFilter,
    bucket: timedelta,
    functions: Sequence[str],
) -> list[dict[str, Any]]:
    """One item per (source, bucket) with data: ``{source, start, fields: {field: {fn: x}}}``."""
    buckets = bucket_count(resolved, bucket)
    fields = list(dict.fromkeys(resolved.filter.fields))
    if not fields:
        raise BadRequest("name the numeric fields to aggregate", field="fields")
    wanted = list(dict.fromkeys(functions)) or list(FUNCTIONS)
    unknown = [name for name in wanted if name not in FUNCTIONS]
    if unknown:
        raise BadRequest(f"unknown function(s): {', '.join(unknown)}", field="functions")
    sources = connection.execute(
        sa.select(sa.func.count()).where(*resolved.source_conditions())
    ).scalar_one()
    if sources * buckets > MAX_SERIES_POINTS:
        raise BadRequest(
            f"{sources} sources x {buckets} buckets; at most {MAX_SERIES_POINTS} points",
            field="bucket",
        )
    assert resolved.filter.since is not None
    since_us, bucket_us = to_us(resolved.filter.since), _micros(bucket)
    statement = _statement(connection.dialect.name, resolved, since_us, bucket_us, fields, wanted)
    items = []
    for row in connection.execute(statement).mappings():
        values = {name: {fn: row[f"f{i}_{fn}"] for fn in wanted} for i, name in enumerate(fields)}
        items.append(
            {
                "source": row["source"],
                "start": wire_time(since_us + row["bucket"] * bucket_us),
                "fields": values,
            }
        )
    return items


def _statement(
    dialect: str,
    resolved: ResolvedFilter,
    since_us: int,
    bucket_us: int,
    fields: list[str],
    functions: list[str],
) -> sa.Select[Any]:
    # Integers the API computed, inlined so that the bucket expression is one
    # and the same in the select list and the window's PARTITION BY.
    since: sa.ColumnElement[int] = sa.literal_column(str(int(since_us)), sa.BigInteger)
    width: sa.ColumnElement[int] = sa.literal_column(str(int(bucket_us)), sa.BigInteger)
    bucket = (readings.c.time_us - since) // width
    columns: list[Any] = [readings.c.source, bucket.label("bucket")]
    for i, name in enumerate(fields):
        value = _number(dialect, name)
        columns.append(value.label(f"v{i}"))
        missing_last = sa.case((value.is_(None), 1), else_=0)
        for fn, direction in (("first", sa.asc), ("last", sa.desc)):
            if fn in functions:
                window = sa.func.first_value(value).over(
                    partition_by=(readings.c.source, bucket),
                    order_by=(
                        missing_last,
                        direction(readings.c.time_us),
                        direction(readings.c.id),
                    ),
                )
                columns.append(window.label(f"w{i}_{fn}"))
    inner = sa.select(*columns).where(*resolved.conditions()).subquery("bucketed")
    outer: list[Any] = [inner.c.source, inner.c.bucket]
    for i in range(len(fields)):
        for fn in functions:
            if fn in _GROUPED:
                outer.append(_GROUPED[fn](inner.c[f"v{i}"]).label(f"f{i}_{fn}"))
            else:  # one value per partition: any aggregate picks it
                outer.append(sa.func.min(inner.c[f"w{i}_{fn}"]).label(f"f{i}_{fn}"))
    counted = sa.or_(*(inner.c[f"v{i}"].is_not(None) for i in range(len(fields))))
    return (
        sa.select(*outer)
        .where(counted)
        .group_by(inner.c.source, inner.c.bucket)
        .order_by(inner.c.source, inner.c.bucket)
    )


def _number(dialect: str, name: str) -> sa.ColumnElement[Any]:
    """The JSON number under ``name`` in a reading's values, as a float; NULL otherwise."""
    values = readings.c["values"]
    if dialect == "postgresql":
        key = sa.literal(name, sa.Text)
        element = values.op("->")(key)
        text = values.op("->>")(key)
        return sa.case(
            (sa.func.json_typeof(element) == "number", sa.cast(text, sa.Float)),
        )
    path = sa.literal("$." + json.dumps(name), sa.Text)
    return sa.case(
        (
            sa.func.json_type(values, path).in_(("integer", "real")),
            sa.func.json_extract(values, path),
        ),
    )


def _micros(bucket: timedelta) -> int:
    return (bucket.days * 86_400 + bucket.seconds) * 1_000_000 + bucket.microseconds
