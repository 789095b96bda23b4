"""Security events of the caller's account: what was discarded, why, how often."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from pydantic import Field

from edgeward.cloud.api.authz import requires
from edgeward.cloud.api.common import CURSOR_PATTERN, newest_first_page
from edgeward.cloud.api.models import Reply, Time, documented_pattern
from edgeward.cloud.api.openapi import errors
from edgeward.cloud.errors import BadRequest
from edgeward.cloud.identity.principal import Principal
from edgeward.cloud.security_events.store import describe
from edgeward.cloud.storage.schema import security_events
from edgeward.sync.clock import to_us

router = APIRouter(tags=["security events"])


class SecurityEvent(Reply):
    """Discarded reports of one source for one reason, counted over a window."""

    id: int
    gateway_id: str | None = Field(description="none when the cloud itself discarded them")
    source: str
    reason: str
    count: int
    window_start: Time
    first: Time
    last: Time
    reported_by: str = Field(description="cloud or gateway")
    # Why, from the latest refusal a gateway reported (none for the cloud's own).
    field: str | None = Field(description="the field at fault")
    value: str | None = Field(description="a bounded rendering of its value")
    detail: str | None = Field(description="the decoder's message")


class SecurityEventPage(Reply):
    items: list[SecurityEvent]
    next_cursor: str | None = Field(description="pass as cursor for the next page")
    has_more: bool


@router.get(
    "/v1/security-events",
    summary="Discarded reports, counted per source, reason, window",
    response_model=SecurityEventPage,
    # 400: a cursor this API did not hand out, a time without its UTC offset
    responses=errors(400),
)
def list_security_events(
    request: Request,
    principal: Annotated[Principal, requires("security-events")],
    source: Annotated[str | None, Query(max_length=128)] = None,
    gateway_id: Annotated[str | None, Query(max_length=32)] = None,
    reason: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[datetime | None, Query(description="inclusive, RFC 3339")] = None,
    until: Annotated[datetime | None, Query(description="exclusive, RFC 3339")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[
        str | None, Query(max_length=20, json_schema_extra=documented_pattern(CURSOR_PATTERN))
    ] = None,
) -> Any:
    table = security_events.c
    statement = sa.select(security_events).where(table.account_id == principal.account_id)
    for column, value in (
        (table.source, source),
        (table.gateway_id, gateway_id),
        (table.reason, reason),
    ):
        if value is not None:
            statement = statement.where(column == value)
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise BadRequest(f"{name} needs a UTC offset", field=name)
    if since is not None:
        statement = statement.where(table.last_us >= to_us(since))
    if until is not None:
        statement = statement.where(table.first_us < to_us(until))
    return newest_first_page(request, statement, table.id, limit, cursor, describe)
