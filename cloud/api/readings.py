"""Readings for cloud applications: across the account by filter, latest values, aggregates.

Every route here takes the same filter (:func:`reading_filter`, one
:class:`~edgeward.cloud.readings.filters.ReadingFilter`) and refuses query
parameters it does not declare, so ``order=desc`` is never silently ignored.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import TypeAdapter, ValidationError

from edgeward.cloud.api.authz import requires
from edgeward.cloud.api.common import declared_parameters, transaction
from edgeward.cloud.api.openapi import errors
from edgeward.cloud.api.reading_models import Aggregates, LatestReadings, ReadingPage
from edgeward.cloud.errors import BadRequest
from edgeward.cloud.identity.principal import Principal
from edgeward.cloud.readings.aggregates import FUNCTIONS, MAX_BUCKETS, aggregate
from edgeward.cloud.readings.cursors import CursorKey
from edgeward.cloud.readings.filters import MAX_SOURCES, ReadingFilter
from edgeward.cloud.readings.query import (
    MAX_LATEST_SOURCES,
    MAX_PAGE,
    latest_readings,
    query_readings,
)

router = APIRouter(tags=["readings"], dependencies=[Depends(declared_parameters)])

Name = Annotated[str, Query(min_length=1, max_length=128)]
Function = Literal["count", "min", "max", "avg", "sum", "first", "last"]
assert set(Function.__args__) == set(FUNCTIONS)  # type: ignore[attr-defined]
_DURATION = TypeAdapter(timedelta)


def reading_filter(
    source: Annotated[
        list[Name],
        Query(description=f"repeatable, at most {MAX_SOURCES}; none: every source"),
    ] = [],  # noqa: B006 -- FastAPI copies defaults per request
    type_: Annotated[
        list[Name], Query(alias="type", description="data-source type id, repeatable")
    ] = [],  # noqa: B006
    gateway_id: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[datetime | None, Query(description="inclusive, RFC 3339")] = None,
    until: Annotated[datetime | None, Query(description="exclusive, RFC 3339")] = None,
    fields: Annotated[
        list[Name], Query(description="repeatable; only these values of each reading")
    ] = [],  # noqa: B006
) -> ReadingFilter:
    """The filter every readings route shares (and the stream will)."""
    return ReadingFilter(
        sources=tuple(source),
        types=tuple(type_),
        gateway_id=gateway_id,
        since=since,
        until=until,
        fields=tuple(fields),
    )


Filter = Annotated[ReadingFilter, Depends(reading_filter)]


@router.get(
    "/v1/readings",
    summary="Readings of the account by filter, paged by cursor",
    response_model=ReadingPage,
    responses=errors(400, 404),
)
def list_readings(
    request: Request,
    principal: Annotated[Principal, requires("readings")],
    wanted: Filter,
    order: Literal["asc", "desc"] = "asc",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Any:
    pepper = request.app.state.settings.pepper
    key = CursorKey.from_pepper(pepper, principal.account_id, wanted.digest(), order)
    with transaction(request) as connection:
        resolved = wanted.resolve(connection, principal.account_id)
        page = query_readings(connection, resolved, key, limit, cursor)
    return {"items": page.items, "next_cursor": page.next_cursor, "has_more": page.has_more}


@router.get(
    "/v1/readings/latest",
    summary="The newest reading of each matching source",
    response_model=LatestReadings,
    responses=errors(400, 404),
    description=f"At most {MAX_LATEST_SOURCES} sources; sources without a reading are left out.",
)
def latest(
    request: Request,
    principal: Annotated[Principal, requires("readings")],
    wanted: Filter,
) -> Any:
    with transaction(request) as connection:
        resolved = wanted.resolve(connection, principal.account_id)
        items = latest_readings(connection, resolved)
    return {"items": items}


@router.get(
    "/v1/readings/aggregates",
    summary="Numeric fields aggregated over time buckets",
    response_model=Aggregates,
    responses=errors(400, 404),
)
def aggregates(
    request: Request,
    principal: Annotated[Principal, requires("readings")],
    wanted: Filter,
    bucket: Annotated[
        str,
        Query(
            max_length=32,
            description=f"seconds (60) or an ISO 8601 duration (PT1M); at most {MAX_BUCKETS}",
        ),
    ],
    functions: Annotated[list[Function], Query(description="repeatable; none: all")] = [],  # noqa: B006
) -> Any:
    width = parse_bucket(bucket)
    with transaction(request) as connection:
        resolved = wanted.resolve(connection, principal.account_id)
        items = aggregate(connection, resolved, width, functions)
    return {"bucket_seconds": width.total_seconds(), "items": items}


def parse_bucket(text: str) -> timedelta:
    """Whole seconds (``60``) or an ISO 8601 duration in days and time (``PT1M``, ``P1D``)."""
    if re.fullmatch(r"[0-9]{1,9}", text):
        return timedelta(seconds=int(text))
    if not re.fullmatch(r"P(?:[0-9.]+[DW])?(?:T(?:[0-9.]+[HMS])+)?", text) or text == "P":
        raise BadRequest(
            "bucket is seconds or an ISO 8601 duration such as PT1M (no years or months)",
            field="bucket",
        )
    try:
        return _DURATION.validate_python(text)
    except ValidationError as exc:
        raise BadRequest(f"bucket {text!r} is not a duration", field="bucket") from exc
