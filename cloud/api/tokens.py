"""Tokens: create, list, regenerate, revoke. A secret is shown once, at creation or regeneration."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from pydantic import Field

from edgeward.cloud.api.authz import requires
from edgeward.cloud.api.common import record, transaction, within_own_grants
from edgeward.cloud.api.models import GrantMap, Reply, RequestBody, RequestGrantMap, Time
from edgeward.cloud.api.openapi import errors
from edgeward.cloud.directory import store as directory_store
from edgeward.cloud.errors import Forbidden, InvalidRequest, NotFound
from edgeward.cloud.identity import accounts, tokens
from edgeward.cloud.identity import grants as grant_maps
from edgeward.cloud.identity.principal import Principal
from edgeward.cloud.storage.schema import tokens as token_table
from edgeward.sync.clock import format_us, now_us

router = APIRouter(tags=["tokens"])
Caller = Annotated[Principal, requires("tokens")]
MAX_GRACE_S = 7 * 86_400


class Owner(RequestBody):
    kind: str = Field(pattern="^application$")
    id: str = Field(min_length=1, max_length=32)


class NewToken(RequestBody):
    name: str = Field(min_length=1, max_length=200)
    grants: RequestGrantMap
    expires_in: int | None = Field(None, ge=60, le=10 * 365 * 86_400, description="seconds")
    owner: Owner | None = Field(None, description="an application of the account; default: you")


class Regeneration(RequestBody):
    grace_seconds: int = Field(0, ge=0, le=MAX_GRACE_S)


class TokenOwner(Reply):
    kind: Literal["user", "application", "gateway"]
    id: str


class Token(Reply):
    """A token as lists show it: everything but its secret."""

    id: str
    name: str
    prefix: str = Field(description="the secret's first characters, to recognise it by")
    owner: TokenOwner
    grants: GrantMap
    status: Literal["active", "expired", "revoked"]
    created: Time
    last_used: Time | None
    expires: Time | None
    revoked: Time | None
    revoked_reason: str | None


class TokenList(Reply):
    items: list[Token]


class IssuedToken(Reply):
    """A token with its secret, shown this once."""

    id: str
    secret: str
    prefix: str
    owner: TokenOwner
    grants: GrantMap
    expires: Time | None
    note: str


# Whose tokens a caller may see and manage besides their own: the grant that
# governs that kind of principal.
_MANAGED_BY = {"application": "applications", "gateway": "gateways", "user": "users"}


def _manageable(principal: Principal) -> sa.ColumnElement[bool]:
    """Tokens this caller may see and manage: their own, and those of the principals
    they may change (``applications:PUT``, ``gateways:PUT``, ``users:PUT``)."""
    own = sa.and_(
        token_table.c.owner_kind == principal.kind, token_table.c.owner_id == principal.id
    )
    kinds = [kind for kind, api in _MANAGED_BY.items() if principal.allows(api, "PUT")]
    visible = sa.or_(own, token_table.c.owner_kind.in_(kinds)) if kinds else own
    return sa.and_(token_table.c.account_id == principal.account_id, visible)


def _token_row(connection: sa.Connection, principal: Principal, token_id: str) -> Any:
    row = connection.execute(
        sa.select(token_table).where(token_table.c.id == token_id, _manageable(principal))
    ).first()
    if row is None:
        raise NotFound(f"no token {token_id!r}")
    return row


def _shown_once(issued: tokens.IssuedToken, grants: Any, owner: dict[str, str]) -> dict[str, Any]:
    return {
        "id": issued.id,
        "secret": issued.secret,
        "prefix": issued.prefix,
        "owner": owner,
        "grants": grants,
        "expires": format_us(issued.expires_us),
        "note": "the secret is shown once; the cloud keeps only a keyed hash of it",
    }


@router.get("/v1/tokens", summary="List tokens (never their secrets)", response_model=TokenList)
def list_tokens(request: Request, principal: Caller) -> Any:
    now = now_us()
    with transaction(request) as connection:
        rows = connection.execute(
            sa.select(token_table).where(_manageable(principal)).order_by(token_table.c.created_us)
        ).all()
    return {"items": [tokens.describe(row, now) for row in rows]}


@router.post(
    "/v1/tokens",
    status_code=201,
    summary="Create a token; its secret is shown once",
    response_model=IssuedToken,
    # 404: the owner application is not the account's
    responses=errors(404),
)
def create_token(request: Request, body: NewToken, principal: Caller) -> Any:
    grants = grant_maps.parse(body.grants)
    within_own_grants(principal, grants, "this token")
    now = now_us()
    with transaction(request) as connection:
        if body.owner is None:
            owner = {"kind": principal.kind, "id": principal.id}
        else:
            if not principal.allows("applications", "PUT"):
                raise Forbidden("minting an application's token needs applications:PUT")
            application = accounts.get_application(connection, principal.account_id, body.owner.id)
            beyond = grant_maps.excess(grants, grant_maps.from_json(application["grants"]))
            if beyond:
                raise Forbidden(f"the application does not hold {', '.join(beyond)}")
            owner = {"kind": "application", "id": application["id"]}
        expires_us = tokens.expiry_within_policy(
            connection, principal.account_id, body.expires_in, now
        )
        if owner["kind"] == "user":
            _within_sign_in(connection, principal, expires_us)
        issued = tokens.issue(
            connection,
            request.app.state.settings.pepper,
            account_id=principal.account_id,
            owner_kind=owner["kind"],
            owner_id=owner["id"],
            name=body.name,
            grants=grants,
            expires_us=expires_us,
            now=now,
        )
        record(
            connection,
            request,
            principal,
            "token.created",
            issued.id,
            prefix=issued.prefix,
            owner=f"{owner['kind']}:{owner['id']}",
            grants=grant_maps.to_json(grants),
        )
    return _shown_once(issued, grant_maps.to_json(grants), owner)


def _within_sign_in(
    connection: sa.Connection, principal: Principal, expires_us: int | None
) -> None:
    """A directory user's own tokens end with the sign-in they act under, at the latest."""
    ends = directory_store.sign_in_ends(connection, principal.id, principal.token_id)
    if ends is not None and (expires_us is None or expires_us > ends):
        raise InvalidRequest(
            f"a directory user's tokens end with their sign-in, at {format_us(ends)} at the latest",
            field="expires_in",
        )


@router.get("/v1/tokens/{token_id}", summary="One token (never its secret)", response_model=Token)
def get_token(request: Request, token_id: str, principal: Caller) -> Any:
    with transaction(request) as connection:
        return tokens.describe(_token_row(connection, principal, token_id), now_us())


@router.post(
    "/v1/tokens/{token_id}/regenerate",
    summary="A new secret with the same grants; the old one dies now or after a grace",
    response_model=IssuedToken,
)
def regenerate_token(request: Request, token_id: str, body: Regeneration, principal: Caller) -> Any:
    now = now_us()
    with transaction(request) as connection:
        row = _token_row(connection, principal, token_id)
        if row.revoked_us is not None:
            raise NotFound(f"no active token {token_id!r}")
        # A new secret of a token is that token's power in the caller's hands.
        within_own_grants(principal, grant_maps.from_json(row.grants), "this token's grants")
        issued = tokens.regenerate(
            connection, request.app.state.settings.pepper, token_id, body.grace_seconds, now
        )
        record(
            connection,
            request,
            principal,
            "token.regenerated",
            token_id,
            prefix=issued.prefix,
            grace_seconds=body.grace_seconds,
        )
    return _shown_once(issued, row.grants, {"kind": row.owner_kind, "id": row.owner_id})


@router.delete("/v1/tokens/{token_id}", status_code=204, summary="Revoke a token at once")
def revoke_token(request: Request, token_id: str, principal: Caller) -> Response:
    with transaction(request) as connection:
        row = _token_row(connection, principal, token_id)
        tokens.revoke(connection, token_id, now_us())
        record(connection, request, principal, "token.revoked", token_id, prefix=row.secret_prefix)
    return Response(status_code=204)
