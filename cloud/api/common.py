"""Helpers every router shares: the transaction, the clock, the audit hook."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from fastapi import Request

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
