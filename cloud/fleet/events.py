"""Gateway events at the cloud: kept per (gateway, event number) at their largest count."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from edgeward.cloud.storage.schema import gateway_events
from edgeward.sync.clock import format_us, to_us
from edgeward.sync.events import GatewayEvent


def store_events(
    connection: sa.Connection,
    account_id: str,
    gateway_id: str,
    events: list[GatewayEvent],
    now: int,
) -> int:
    rows = [
        {
            "account_id": account_id,
            "gateway_id": gateway_id,
            "local_id": e.id,
            "kind": e.kind,
            "first_us": to_us(e.first),
            "last_us": to_us(e.last),
            "count": e.count,
            "first_seq": e.first_seq,
            "last_seq": e.last_seq,
            "detail": e.detail,
            "received_us": now,
        }
        for e in events
    ]
    insert = (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(
        gateway_events
    )
    table = gateway_events.c
    connection.execute(
        insert.on_conflict_do_update(
            index_elements=["gateway_id", "local_id"],
            # A resent event never counts twice; a grown one takes its new total.
            set_={
                "count": sa.func.max(table.count, insert.excluded.count)
                if connection.dialect.name == "sqlite"
                else sa.func.greatest(table.count, insert.excluded.count),
                "last_us": insert.excluded.last_us,
                "last_seq": insert.excluded.last_seq,
                "received_us": insert.excluded.received_us,
            },
        ),
        rows,
    )
    return len(rows)


def list_events(connection: sa.Connection, gateway_id: str) -> list[dict[str, Any]]:
    rows = connection.execute(
        sa.select(gateway_events)
        .where(gateway_events.c.gateway_id == gateway_id)
        .order_by(gateway_events.c.local_id)
    ).all()
    return [
        {
            "kind": row.kind,
            "count": row.count,
            "first": format_us(row.first_us),
            "last": format_us(row.last_us),
            "first_seq": row.first_seq,
            "last_seq": row.last_seq,
            "detail": row.detail,
        }
        for row in rows
    ]
