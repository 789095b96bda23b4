"""OAuth 1.0a credentials of applications (API ``oauth-clients``): issue, list, revoke.

Issuing one mints a token for the application, so it follows the token
route's rules: ``applications:PUT``, nothing beyond the caller's own grants
nor beyond what the application holds, lifetime within the account policy.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import Field

from edgeward.cloud.api.authz import requires
from edgeward.cloud.api.common import record, transaction, within_own_grants
from edgeward.cloud.api.models import RequestBody
from edgeward.cloud.errors import Forbidden, NotFound
from edgeward.cloud.identity import accounts, tokens
from edgeward.cloud.identity import grants as grant_maps
from edgeward.cloud.identity.principal import Principal
from edgeward.cloud.oauth1 import credentials
from edgeward.cloud.storage.schema import oauth1_credentials
from edgeward.sync.clock import now_us

router = APIRouter(tags=["oauth-clients"])
Caller = Annotated[Principal, requires("oauth-clients")]


class NewCredentials(RequestBody):
    application_id: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=200)
    grants: dict[str, list[str]]
    expires_in: int | None = Field(None, ge=60, le=10 * 365 * 86_400, description="seconds")


@router.get("/v1/oauth1-credentials", summary="List OAuth 1.0a credentials (never secrets)")
def list_credentials(request: Request, principal: Caller) -> Any:
    statement = credentials.LISTED.where(
        oauth1_credentials.c.account_id == principal.account_id
    ).order_by(oauth1_credentials.c.created_us)
    with transaction(request) as connection:
        return {"items": [credentials.describe(row) for row in connection.execute(statement)]}


@router.post(
    "/v1/oauth1-credentials",
    status_code=201,
    summary="Issue an application a consumer key and token pair; the secrets are shown once",
)
def issue_credentials(request: Request, body: NewCredentials, principal: Caller) -> Any:
    grants = grant_maps.parse(body.grants)
    within_own_grants(principal, grants, "these credentials")
    if not principal.allows("applications", "PUT"):
        raise Forbidden("issuing an application's credentials needs applications:PUT")
    now = now_us()
    with transaction(request) as connection:
        application = accounts.get_application(
            connection, principal.account_id, body.application_id
        )
        beyond = grant_maps.excess(grants, grant_maps.from_json(application["grants"]))
        if beyond:
            raise Forbidden(f"the application does not hold {', '.join(beyond)}")
        expires_us = tokens.expiry_within_policy(
            connection, principal.account_id, body.expires_in, now
        )
        issued = credentials.issue(
            connection,
            request.app.state.settings.pepper,
            request.app.state.sealed_box,
            account_id=principal.account_id,
            application_id=body.application_id,
            name=body.name,
            grants=grants,
            expires_us=expires_us,
            now=now,
        )
        record(
            connection,
            request,
            principal,
            "oauth1.credentials.issued",
            issued["id"],
            consumer_key=issued["consumer_key"],
            token_id=issued["token_id"],
            grants=issued["grants"],
        )
    issued["signature_methods"] = request.app.state.authenticator.oauth1.methods
    issued["note"] = "the secrets are shown once"
    return issued


def _owned(connection: Any, principal: Principal, credential_id: str) -> Any:
    row = connection.execute(
        credentials.LISTED.where(
            oauth1_credentials.c.id == credential_id,
            oauth1_credentials.c.account_id == principal.account_id,
        )
    ).first()
    if row is None:
        raise NotFound(f"no OAuth 1.0a credentials {credential_id!r}")
    return row


@router.get("/v1/oauth1-credentials/{credential_id}", summary="One set of OAuth 1.0a credentials")
def get_credentials(request: Request, credential_id: str, principal: Caller) -> Any:
    with transaction(request) as connection:
        return credentials.describe(_owned(connection, principal, credential_id))


@router.delete(
    "/v1/oauth1-credentials/{credential_id}",
    status_code=204,
    summary="Revoke OAuth 1.0a credentials at once",
)
def revoke_credentials(request: Request, credential_id: str, principal: Caller) -> Response:
    with transaction(request) as connection:
        row = _owned(connection, principal, credential_id)
        tokens.revoke(connection, row.token_id, now_us())
        record(connection, request, principal, "oauth1.credentials.revoked", credential_id)
    return Response(status_code=204)
