"""Readings for cloud applications: by data source and time range, paged by cursor."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from edgeward.cloud.api.authz import requires
from edgeward.cloud.api.common import transaction
from edgeward.cloud.errors import BadRequest
from edgeward.cloud.identity.principal import Principal
from edgeward.cloud.readings.store import MAX_PAGE, ReadingQuery, query_readings

router = APIRouter(tags=["readings"])


@router.get("/v1/readings", summary="Readings of one data source, oldest first")
def list_readings(
    request: Request,
    principal: Annotated[Principal, requires("readings")],
    source: Annotated[str, Query(min_length=1, max_length=128)],
    since: Annotated[datetime | None, Query(description="inclusive, RFC 3339")] = None,
    until: Annotated[datetime | None, Query(description="exclusive, RFC 3339")] = None,
    gateway_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Any:
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise BadRequest(f"{name} needs a UTC offset, such as 2026-01-01T00:00:00Z", field=name)
    query = ReadingQuery(
        account_id=principal.account_id,
        source=source,
        since=since,
        until=until,
        gateway_id=gateway_id,
        limit=limit,
        cursor=cursor,
    )
    with transaction(request) as connection:
        page = query_readings(connection, query)
    return {"items": page.items, "next_cursor": page.next_cursor, "has_more": page.has_more}
