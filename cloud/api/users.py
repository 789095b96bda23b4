"""Users of the caller's account, each with a role that decides their grants."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import Field

from edgeward.cloud.api.authz import requires
from edgeward.cloud.api.common import record, transaction, within_own_grants
from edgeward.cloud.api.models import GrantMap, Reply, RequestBody, Time
from edgeward.cloud.api.openapi import errors
from edgeward.cloud.identity import accounts
from edgeward.cloud.identity import grants as grant_maps
from edgeward.cloud.identity.principal import Principal
from edgeward.cloud.identity.revocation import revoke_owned
from edgeward.sync.clock import now_us

router = APIRouter(tags=["users"])
Caller = Annotated[Principal, requires("users")]


class NewUser(RequestBody):
    # ASCII whitespace spelled out: \s differs between Python's regex and the
    # ECMA-262 one a client checks the document's pattern with (U+0085).
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@ \t\r\n\f\v]+@[^@ \t\r\n\f\v]+$")
    role: str = Field(
        min_length=1, max_length=16, json_schema_extra={"enum": list(grant_maps.ROLES)}
    )


class UserUpdate(RequestBody):
    role: str | None = Field(
        None, min_length=1, max_length=16, json_schema_extra={"enum": list(grant_maps.ROLES)}
    )
    disabled: bool | None = None


class DirectoryMembership(Reply):
    username: str
    groups: list[str]
    last_sign_in: Time | None


class User(Reply):
    id: str
    email: str
    role: str
    grants: GrantMap = Field(description="the role's, or the directory groups' for such users")
    created: Time
    disabled: Time | None
    directory: DirectoryMembership | None = Field(
        None, description="only for users the account's directory manages"
    )


class UserList(Reply):
    items: list[User]


def _role_within_grants(principal: Principal, role: str) -> None:
    if role in grant_maps.ROLE_GRANTS:
        within_own_grants(principal, grant_maps.ROLE_GRANTS[role], f"role {role!r}")


@router.get(
    "/v1/users", summary="List users", response_model=UserList, response_model_exclude_unset=True
)
def list_users(request: Request, principal: Caller) -> Any:
    with transaction(request) as connection:
        return {"items": accounts.list_users(connection, principal.account_id)}


@router.post(
    "/v1/users",
    status_code=201,
    summary="Add a user",
    response_model=User,
    response_model_exclude_unset=True,
    # 409: the email is taken
    responses=errors(409),
)
def create_user(request: Request, body: NewUser, principal: Caller) -> Any:
    _role_within_grants(principal, body.role)
    with transaction(request) as connection:
        user = accounts.create_user(
            connection, principal.account_id, body.email, body.role, now_us()
        )
        record(connection, request, principal, "user.created", user["id"], role=body.role)
        return user


@router.get(
    "/v1/users/{user_id}",
    summary="One user",
    response_model=User,
    response_model_exclude_unset=True,
)
def get_user(request: Request, user_id: str, principal: Caller) -> Any:
    with transaction(request) as connection:
        return accounts.get_user(connection, principal.account_id, user_id)


def _may_change(connection: Any, principal: Principal, user_id: str) -> dict[str, Any]:
    """The target user, if the caller covers what the target holds (no demoting a superior)."""
    target = accounts.get_user(connection, principal.account_id, user_id)
    held = grant_maps.from_json(target["grants"])
    within_own_grants(principal, held, f"role {target['role']!r}")
    return target


@router.put(
    "/v1/users/{user_id}",
    summary="Change a user's role or disable them",
    response_model=User,
    response_model_exclude_unset=True,
    # 409: the last owner, or a directory-managed user's role
    responses=errors(409),
)
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
    "/v1/users/{user_id}",
    status_code=204,
    summary="Disable a user, revoke their tokens",
    # 409: the account's last owner
    responses=errors(409),
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
