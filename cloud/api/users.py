"""Users of the caller's account, each with a role that decides their grants."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from edgeward.cloud.api.authz import requires
from edgeward.cloud.api.common import record, transaction, within_own_grants
from edgeward.cloud.identity import accounts
from edgeward.cloud.identity import grants as grant_maps
from edgeward.cloud.identity.principal import Principal
from edgeward.cloud.identity.revocation import revoke_owned
from edgeward.sync.clock import now_us

router = APIRouter(tags=["users"])
Caller = Annotated[Principal, requires("users")]


class NewUser(BaseModel):
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    role: str = Field(min_length=1, max_length=16)


class UserUpdate(BaseModel):
    role: str | None = Field(None, min_length=1, max_length=16)
    disabled: bool | None = None


def _role_within_grants(principal: Principal, role: str) -> None:
    if role in grant_maps.ROLE_GRANTS:
        within_own_grants(principal, grant_maps.ROLE_GRANTS[role], f"role {role!r}")


@router.get("/v1/users", summary="List users")
def list_users(request: Request, principal: Caller) -> Any:
    with transaction(request) as connection:
        return {"items": accounts.list_users(connection, principal.account_id)}


@router.post("/v1/users", status_code=201, summary="Add a user")
def create_user(request: Request, body: NewUser, principal: Caller) -> Any:
    _role_within_grants(principal, body.role)
    with transaction(request) as connection:
        user = accounts.create_user(
            connection, principal.account_id, body.email, body.role, now_us()
        )
        record(connection, request, principal, "user.created", user["id"], role=body.role)
        return user


@router.get("/v1/users/{user_id}", summary="One user")
def get_user(request: Request, user_id: str, principal: Caller) -> Any:
    with transaction(request) as connection:
        return accounts.get_user(connection, principal.account_id, user_id)


def _may_change(connection: Any, principal: Principal, user_id: str) -> dict[str, Any]:
    """The target user, if the caller covers what the target holds (no demoting a superior)."""
    target = accounts.get_user(connection, principal.account_id, user_id)
    held = grant_maps.from_json(target["grants"])
    within_own_grants(principal, held, f"role {target['role']!r}")
    return target


@router.put("/v1/users/{user_id}", summary="Change a user's role or disable them")
def update_user(request: Request, user_id: str, body: UserUpdate, principal: Caller) -> Any:
    if body.role is not None:
        _role_within_grants(principal, body.role)
    now = now_us()
    with transaction(request) as connection:
        _may_change(connection, principal, user_id)
        user = accounts.update_user(
            connection, principal.account_id, user_id, body.role, body.disabled, now
        )
        accounts.require_an_owner(connection, principal.account_id)
        if body.disabled:
            revoke_owned(connection, "user", user_id, now)
        record(
            connection,
            request,
            principal,
            "user.updated",
            user_id,
            **body.model_dump(exclude_none=True),
        )
        return user


@router.delete(
    "/v1/users/{user_id}", status_code=204, summary="Disable a user, revoke their tokens"
)
def delete_user(request: Request, user_id: str, principal: Caller) -> Response:
    now = now_us()
    with transaction(request) as connection:
        _may_change(connection, principal, user_id)
        accounts.update_user(connection, principal.account_id, user_id, None, True, now)
        accounts.require_an_owner(connection, principal.account_id)
        revoke_owned(connection, "user", user_id, now)
        record(connection, request, principal, "user.disabled", user_id)
    return Response(status_code=204)
