"""The account's enterprise directory (API ``directory``) and directory sign-in (public).

``GET/PUT/DELETE /v1/directory`` manage the settings; the service account's
password is write-only. ``POST /v1/directory/sign-in`` trades a directory
user name and password for an expiring token. Its failures are rate-limited
per client address like every credential check, answer one 401 body
whatever the cause (wrong password, unknown or disabled user, no directory:
no oracle), and are audited with their reason, never the password.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import Field

from edgeward.cloud.api.authz import public, requires
from edgeward.cloud.api.common import client_address, record, transaction, within_own_grants
from edgeward.cloud.api.models import RequestBody
from edgeward.cloud.directory import settings as directory_settings
from edgeward.cloud.directory import store
from edgeward.cloud.directory.signin import Attempt, SignInRefused, sign_in
from edgeward.cloud.directory.sync import sync
from edgeward.cloud.errors import (
    Forbidden,
    InvalidRequest,
    NotFound,
    ServiceUnavailable,
    Unauthenticated,
)
from edgeward.cloud.identity.principal import Principal
from edgeward.sync.clock import now_us

router = APIRouter(tags=["directory"])
Caller = Annotated[Principal, requires("directory")]

REFUSED = "invalid account, user name or password"
# Refusals after the password was proved right: the user may learn why.
PROVED = {
    "no-mapped-group": "none of your directory groups is granted anything in this account",
    "user-disabled": "this account has disabled your user",
}


class BindSettings(RequestBody):
    method: Literal["direct", "search"]
    dn_template: str | None = Field(
        None, max_length=1000, description="direct: e.g. uid={username},ou=people,dc=example,dc=com"
    )
    service_dn: str | None = Field(None, max_length=1000, description="search: the service account")
    service_password: str | None = Field(
        None, max_length=1000, description="search: write-only, sealed, never returned"
    )


class GroupSettings(RequestBody):
    base_dn: str | None = Field(None, max_length=1000, description="default: base_dn")
    filter: str | None = Field(
        None, max_length=2000, description=f"default: {directory_settings.DEFAULT_GROUP_FILTER}"
    )


class GroupMapping(RequestBody):
    group: str = Field(min_length=1, max_length=1000, description="the group's DN")
    role: str | None = Field(None, max_length=16)
    grants: dict[str, list[str]] | None = None


class DirectoryBody(RequestBody):
    url: str = Field(min_length=1, max_length=500, description="ldap://host[:port] or ldaps://")
    tls: Literal["starttls", "none"] | None = Field(
        None, description="ldap:// only; default starttls"
    )
    ca_pem: str | None = Field(None, max_length=100_000, description="CA certificates, PEM")
    base_dn: str = Field(min_length=1, max_length=1000)
    user_filter: str | None = Field(
        None, max_length=2000, description=f"default: {directory_settings.DEFAULT_USER_FILTER}"
    )
    bind: BindSettings
    groups: GroupSettings = Field(default_factory=lambda: GroupSettings(base_dn=None, filter=None))
    mapping: list[GroupMapping] = Field(default_factory=list, max_length=200)
    token_lifetime_s: int = Field(directory_settings.DEFAULT_TOKEN_LIFETIME_S, ge=300, le=2_592_000)
    timeout_s: int = Field(directory_settings.DEFAULT_TIMEOUT_S, ge=1, le=60)
    max_connections: int = Field(directory_settings.DEFAULT_MAX_CONNECTIONS, ge=1, le=64)


class SignIn(RequestBody):
    account: str = Field(min_length=1, max_length=64)
    # No control characters: no directory user has them, and NUL can't be audited.
    username: str = Field(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]+$")
    password: str = Field(max_length=1024)


@router.get("/v1/directory", summary="The account's directory settings (never the password)")
def get_directory(request: Request, principal: Caller) -> Any:
    with transaction(request) as connection:
        stored = store.load(connection, request.app.state.sealed_box, principal.account_id)
    if stored is None:
        raise NotFound("this account has no directory")
    return stored.describe()


@router.put("/v1/directory", summary="Set the account's directory (LDAP) and its group mapping")
def put_directory(request: Request, body: DirectoryBody, principal: Caller) -> Any:
    document = body.model_dump(exclude={"bind": {"service_password"}})
    settings = directory_settings.validate(document)
    for entry in settings.mapping:
        within_own_grants(principal, entry.grants, f"mapping group {entry.group!r}")
    with transaction(request) as connection:
        stored = store.save(
            connection,
            request.app.state.sealed_box,
            principal.account_id,
            settings,
            body.bind.service_password,
            now_us(),
        )
        record(
            connection,
            request,
            principal,
            "directory.updated",
            principal.account_id,
            url=settings.url,
            bind=settings.bind_method,
            mapping=[entry.to_json() for entry in settings.mapping],
            service_password_changed=body.bind.service_password is not None,
        )
    return stored.describe()


@router.delete(
    "/v1/directory", status_code=204, summary="Remove the directory; its users' tokens end"
)
def delete_directory(request: Request, principal: Caller) -> Response:
    with transaction(request) as connection:
        revoked = store.remove(connection, principal.account_id, now_us())
        record(
            connection,
            request,
            principal,
            "directory.removed",
            principal.account_id,
            revoked_tokens=revoked,
        )
    return Response(status_code=204)


@router.post(
    "/v1/directory/sync",
    summary="Check every directory user now: the gone lose their tokens, the rest are regranted",
)
def sync_directory(request: Request, principal: Caller) -> Any:
    state = request.app.state
    try:
        result = sync(
            state.database, state.sealed_box, state.directory_gate, principal.account_id, now_us()
        )
    except ServiceUnavailable as away:
        with transaction(request) as connection:
            reason = getattr(away, "reason", away.code)
            record(connection, request, principal, "directory.sync-failed", reason=reason)
        raise
    with transaction(request) as connection:
        record(connection, request, principal, "directory.synced", principal.account_id, **result)
    return result


@router.post(
    "/v1/directory/sign-in",
    status_code=201,
    dependencies=[public()],
    summary="Sign in with a directory user name and password; an expiring token, shown once",
)
def directory_sign_in(request: Request, body: SignIn) -> Any:
    state = request.app.state
    limiter = state.authenticator.limiter
    address = client_address(request, "failed sign-ins")
    client = request.client.host if request.client else None
    attempt = Attempt(body.account, body.username, body.password, client)
    try:
        return sign_in(
            state.database,
            state.sealed_box,
            state.settings.pepper,
            state.directory_gate,
            attempt,
            now_us(),
        )
    except InvalidRequest:
        limiter.failed(address)  # an empty password, refused before the directory saw it
        raise
    except SignInRefused as refused:
        limiter.failed(address)
        if refused.proved:
            raise Forbidden(PROVED[refused.reason]) from None
        raise Unauthenticated(REFUSED) from None
