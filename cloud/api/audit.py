"""The account's audit log, newest first."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request

from edgeward.cloud.api.authz import requires
from edgeward.cloud.api.common import transaction
from edgeward.cloud.errors import BadRequest
from edgeward.cloud.identity.principal import Principal
from edgeward.cloud.storage.schema import audit_events
from edgeward.sync.clock import format_us

router = APIRouter(tags=["audit"])


@router.get("/v1/audit-events", summary="Audit events of the account, newest first")
def list_audit_events(
    request: Request,
    principal: Annotated[Principal, requires("audit")],
    event: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
) -> Any:
    statement = sa.select(audit_events).where(audit_events.c.account_id == principal.account_id)
    if event is not None:
        statement = statement.where(audit_events.c.event == event)
    if cursor is not None:
        if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 18):
            raise BadRequest("cursor is not one this API handed out", field="cursor")
        statement = statement.where(audit_events.c.id < int(cursor))
    statement = statement.order_by(audit_events.c.id.desc()).limit(limit + 1)
    with transaction(request) as connection:
        rows = connection.execute(statement).all()
    items = [
        {
            "id": row.id,
            "time": format_us(row.time_us),
            "event": row.event,
            "actor": row.actor,
            "target": row.target,
            "client": row.client,
            "details": row.details,
        }
        for row in rows[:limit]
    ]
    more = len(rows) > limit
    return {"items": items, "next_cursor": str(items[-1]["id"]) if more else None, "has_more": more}
