"""Helpers every router shares: the transaction, the audit hook, paging, parameter checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from edgeward.cloud.errors import BadRequest, Forbidden, RateLimited
from edgeward.cloud.identity import audit
from edgeward.cloud.identity import grants as grant_maps
from edgeward.cloud.identity.principal import Principal


@contextmanager
def transaction(request: Request) -> Iterator[sa.Connection]:
    with request.app.state.database.engine.begin() as connection:
        yield connection


def record(
    connection: sa.Connection,
    request: Request,
    principal: Principal,
    event: str,
    target: str | None = None,
    **details: Any,
) -> None:
    audit.record(
        connection,
        event,
        account_id=principal.account_id,
        actor=principal.reference,
        target=target,
        client=request.client.host if request.client else None,
        **details,
    )


def client_address(request: Request, refused: str) -> str:
    """The rate-limit key of the caller's address, for routes whose body is the credential
    (enrollment, directory sign-in); 429 if that address failed too often already."""
    client = request.client.host if request.client else "unknown"
    address = f"address:{client}"
    wait = request.app.state.authenticator.limiter.retry_after(address)
    if wait is not None:
        raise RateLimited(f"too many {refused}; retry later", retry_after=wait)
    return address


def within_own_grants(principal: Principal, wanted: grant_maps.Grants, what: str) -> None:
    """Nobody hands out more than the token they act with grants."""
    beyond = grant_maps.excess(wanted, principal.grants)
    if beyond:
        raise Forbidden(f"{what} would exceed this token's grants: {', '.join(beyond)}")


# Cursors of newest_first_page: the last id handed out.
CURSOR_PATTERN = r"^[0-9]{1,18}$"


def newest_first_page(
    request: Request,
    statement: sa.Select[Any],
    id_column: sa.ColumnElement[int],
    limit: int,
    cursor: str | None,
    describe: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    """One page of ``statement`` by descending id; the cursor is the last id handed out.

    For append-only logs (audit, security events) where newest first is what
    a reader wants and ids only grow.
    """
    if cursor is not None:
        if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 18):
            raise BadRequest("cursor is not one this API handed out", field="cursor")
        statement = statement.where(id_column < int(cursor))
    statement = statement.order_by(id_column.desc()).limit(limit + 1)
    with transaction(request) as connection:
        rows = connection.execute(statement).all()
    items = [describe(row) for row in rows[:limit]]
    more = len(rows) > limit
    return {
        "items": items,
        "next_cursor": str(rows[limit - 1].id) if more else None,
        "has_more": more,
    }


def declared_parameters(request: Request) -> None:
    """Refuse (400, naming it) a query parameter the route does not declare.

    A dependency: ``dependencies=[Depends(declared_parameters)]``. FastAPI
    otherwise ignores unknown parameters, so a misspelt or unsupported one
    (``order=desc`` on a route without ``order``) silently answers something
    else than what was asked. The declared names are read from the route's
    own dependency tree, so the check never drifts from the signature.
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    declared = set(_query_names(route.dependant))
    unknown = [name for name in dict.fromkeys(request.query_params) if name not in declared]
    if unknown:
        raise BadRequest(f"unknown query parameter: {', '.join(unknown)}", field=unknown[0])


def _query_names(dependant: Dependant) -> Iterator[str]:
    """The query parameter names of ``dependant`` and its sub-dependencies, by alias."""
    yield from (param.alias for param in dependant.query_params)
    for sub in dependant.dependencies:
        yield from _query_names(sub)
