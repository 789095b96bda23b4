"""Security events: reports discarded, counted per source, reason and window.

Two kinds of witness write here. The cloud's ingest (``reported_by =
"cloud"``) adds its refusals to the current window's row. A gateway's
admission (``reported_by = "gateway"``) reports its own windows with running
totals (edgeward.sync.security_events); the row keeps the largest total it
was told, so a retried or repeated report never counts twice. Either way
automated support hears of each (gateway, source, reason) once per window
through the account's webhooks, not once per report.

A gateway's row also says why: the field at fault, a bounded rendering of its
value and the decoder's message, from the report with the largest count (the
latest the gateway knew). Older gateways send none; the columns stay NULL.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from edgeward.cloud.storage.schema import security_events
from edgeward.cloud.webhooks.store import enqueue
from edgeward.sync.clock import format_us, to_us
from edgeward.sync.security_events import SecurityEvent

WINDOW_US = 60 * 1_000_000
KEY = ["account_id", "gateway_id", "source", "reason", "window_start_us", "reported_by"]
WHY = ("field", "value", "detail")

# Why ingest discards a reading.
UNKNOWN_SOURCE = "unknown-source"
WRONG_GATEWAY = "wrong-gateway"
DISABLED_SOURCE = "disabled-source"


def flag(
    connection: sa.Connection,
    account_id: str,
    gateway_id: str | None,
    counts: Counter[tuple[str, str]],
    now: int,
) -> None:
    """Add ``counts`` of (source, reason) to the current window's rows, creating them."""
    if not counts:
        return
    window = now - now % WINDOW_US
    rows = [
        _row(account_id, gateway_id or "", source, reason, window, count, now, now, "cloud")
        for (source, reason), count in sorted(counts.items())
    ]
    # Counts of the same window add up: each batch refused new readings.
    _upsert(connection, rows, lambda excluded: {"count": security_events.c.count + excluded.count})


def store_gateway_reports(
    connection: sa.Connection,
    account_id: str,
    gateway_id: str,
    events: list[SecurityEvent],
) -> int:
    """Keep a gateway's windows at the largest running total each was reported with."""
    rows = [
        _row(
            account_id,
            gateway_id,
            e.source,
            e.reason,
            to_us(e.window_start),
            e.count,
            to_us(e.first),
            to_us(e.last),
            "gateway",
            {"field": e.field, "value": e.value, "detail": e.detail},
        )
        for e in events
    ]
    largest = sa.func.max if connection.dialect.name == "sqlite" else sa.func.greatest

    def merged(excluded: Any) -> dict[str, Any]:
        # The why goes with the count: a late retry of a smaller total changes neither.
        newer = excluded.count >= security_events.c.count
        return {
            "count": largest(security_events.c.count, excluded.count),
            **{
                name: sa.case((newer, excluded[name]), else_=security_events.c[name])
                for name in WHY
            },
        }

    _upsert(connection, rows, merged)
    return len(rows)


def _row(
    account_id: str,
    gateway_id: str,
    source: str,
    reason: str,
    window: int,
    count: int,
    first: int,
    last: int,
    reported_by: str,
    why: dict[str, str | None] | None = None,
) -> dict[str, Any]:
    return {
        **dict.fromkeys(WHY),
        **(why or {}),
        "account_id": account_id,
        "gateway_id": gateway_id,
        "source": source,
        "reason": reason,
        "window_start_us": window,
        "count": count,
        "first_us": first,
        "last_us": last,
        "reported_by": reported_by,
    }


def _insert(connection: sa.Connection) -> Any:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(security_events)


def _upsert(
    connection: sa.Connection,
    rows: list[dict[str, Any]],
    merged: Callable[[Any], dict[str, Any]],
) -> None:
    """Insert or merge ``rows``; the webhooks hear of the ones that are new."""
    table = security_events.c
    keys = {tuple(row[k] for k in KEY) for row in rows}
    windows = {row["window_start_us"] for row in rows}
    seen = {
        tuple(found)
        for found in connection.execute(
            sa.select(*(table[k] for k in KEY)).where(
                table.account_id == rows[0]["account_id"],
                table.window_start_us.in_(windows),
            )
        ).tuples()
        if tuple(found) in keys
    }
    insert = _insert(connection)
    statement = insert.on_conflict_do_update(
        index_elements=KEY,
        set_={**merged(insert.excluded), "last_us": insert.excluded.last_us},
    )
    connection.execute(statement, rows)
    for row in rows:
        if tuple(row[k] for k in KEY) not in seen:
            enqueue(connection, row["account_id"], _payload(row), row["last_us"])


def _payload(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "security_event",
        "account_id": row["account_id"],
        "gateway_id": row["gateway_id"] or None,
        "source": row["source"],
        "reason": row["reason"],
        "count": row["count"],
        "window_start": format_us(row["window_start_us"]),
        "first": format_us(row["first_us"]),
        "reported_by": row["reported_by"],
        **{name: row[name] for name in WHY},
    }


def describe(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "gateway_id": row.gateway_id or None,
        "source": row.source,
        "reason": row.reason,
        "count": row.count,
        "window_start": format_us(row.window_start_us),
        "first": format_us(row.first_us),
        "last": format_us(row.last_us),
        "reported_by": row.reported_by,
        **{name: getattr(row, name) for name in WHY},
    }
