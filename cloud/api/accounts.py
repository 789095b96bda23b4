"""The caller's account and its token policy."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import Field

from edgeward.cloud.api.authz import requires
from edgeward.cloud.api.common import record, transaction
from edgeward.cloud.api.models import Reply, RequestBody, Time
from edgeward.cloud.identity import accounts
from edgeward.cloud.identity.principal import Principal

router = APIRouter(tags=["accounts"])


class Policy(Reply):
    token_max_lifetime_s: int | None = Field(description="no token lives longer; none: no cap")
    revoke_unused_after_s: int | None = Field(description="tokens unused this long are revoked")


class Account(Reply):
    id: str
    name: str
    created: Time
    policy: Policy


class PolicyUpdate(RequestBody):
    token_max_lifetime_s: int | None = Field(None, ge=60, le=10 * 365 * 86_400)
    revoke_unused_after_s: int | None = Field(None, ge=3600, le=10 * 365 * 86_400)


@router.get("/v1/account", summary="The caller's account", response_model=Account)
def get_account(request: Request, principal: Annotated[Principal, requires("accounts")]) -> Any:
    with transaction(request) as connection:
        return accounts.describe_account(connection, principal.account_id)


@router.put(
    "/v1/account/policy",
    summary="Cap token lifetimes; revoke unused tokens",
    response_model=Account,
)
def put_policy(
    request: Request, body: PolicyUpdate, principal: Annotated[Principal, requires("accounts")]
) -> Any:
    with transaction(request) as connection:
        accounts.set_policy(
            connection, principal.account_id, body.token_max_lifetime_s, body.revoke_unused_after_s
        )
        record(
            connection,
            request,
            principal,
            "account.policy.updated",
            principal.account_id,
            **body.model_dump(),
        )
        return accounts.describe_account(connection, principal.account_id)
