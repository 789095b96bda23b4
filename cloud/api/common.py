"""Helpers every router shares: the transaction, the clock, the audit hook."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from fastapi import Request

from edgeward.cloud.errors import Forbidden
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


def within_own_grants(principal: Principal, wanted: grant_maps.Grants, what: str) -> None:
    """Nobody hands out more than the token they act with grants."""
    beyond = grant_maps.excess(wanted, principal.grants)
    if beyond:
        raise Forbidden(f"{what} would exceed this token's grants: {', '.join(beyond)}")
