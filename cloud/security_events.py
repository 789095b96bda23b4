"""Security events: reports the cloud discarded, counted per source, reason and window."""

from __future__ import annotations

from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from edgeward.cloud.storage.schema import security_events
from edgeward.cloud.webhooks.store import enqueue
from edgeward.sync.clock import format_us

WINDOW_US = 60 * 1_000_000

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
    gateway_key = gateway_id or ""
    seen = set(
        connection.execute(
            sa.select(security_events.c.source, security_events.c.reason).where(
                security_events.c.account_id == account_id,
                security_events.c.gateway_id == gateway_key,
                security_events.c.window_start_us == window,
            )
        ).tuples()
    )
    rows = [
        {
            "account_id": account_id,
            "gateway_id": gateway_id or "",
            "source": source,
            "reason": reason,
            "window_start_us": window,
            "count": count,
            "first_us": now,
            "last_us": now,
        }
        for (source, reason), count in sorted(counts.items())
    ]
    insert = (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(
        security_events
    )
    connection.execute(
        insert.on_conflict_do_update(
            index_elements=["account_id", "gateway_id", "source", "reason", "window_start_us"],
            set_={
                "count": security_events.c.count + insert.excluded.count,
                "last_us": insert.excluded.last_us,
            },
        ),
        rows,
    )
    # Automated support hears of each (source, reason) once per window, not per
    # report: the webhook load of a flood is bounded like its storage.
    for (source, reason), count in sorted(counts.items()):
        if (source, reason) not in seen:
            payload = {
                "type": "security_event",
                "account_id": account_id,
                "gateway_id": gateway_id,
                "source": source,
                "reason": reason,
                "count": count,
                "window_start": format_us(window),
                "first": format_us(now),
            }
            enqueue(connection, account_id, payload, now)


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
    }
