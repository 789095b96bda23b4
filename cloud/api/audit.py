"""The account's audit log, newest first."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from pydantic import Field

from edgeward.cloud.api.authz import requires
from edgeward.cloud.api.common import CURSOR_PATTERN, newest_first_page
from edgeward.cloud.api.models import Reply, Time, documented_pattern
from edgeward.cloud.api.openapi import errors
from edgeward.cloud.identity.principal import Principal
from edgeward.cloud.storage.schema import audit_events
from edgeward.sync.clock import format_us

router = APIRouter(tags=["audit"])


class AuditEvent(Reply):
    id: int
    time: Time
    event: str = Field(description="token.created, user.disabled, auth.failed, ...")
    actor: str | None
    target: str | None
    client: str | None = Field(description="the caller's address")
    details: dict[str, Any]


class AuditEventPage(Reply):
    items: list[AuditEvent]
    next_cursor: str | None = Field(description="pass as cursor for the next page")
    has_more: bool


@router.get(
    "/v1/audit-events",
    summary="Audit events of the account, newest first",
    response_model=AuditEventPage,
    # 400: a cursor this API did not hand out
    responses=errors(400),
)
def list_audit_events(
    request: Request,
    principal: Annotated[Principal, requires("audit")],
    event: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[
        str | None, Query(max_length=20, json_schema_extra=documented_pattern(CURSOR_PATTERN))
    ] = None,
) -> Any:
    statement = sa.select(audit_events).where(audit_events.c.account_id == principal.account_id)
    if event is not None:
        statement = statement.where(audit_events.c.event == event)
    return newest_first_page(request, statement, audit_events.c.id, limit, cursor, _describe)


def _describe(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "time": format_us(row.time_us),
        "event": row.event,
        "actor": row.actor,
        "target": row.target,
        "client": row.client,
        "details": row.details,
    }
