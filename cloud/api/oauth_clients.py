"""OAuth 2 client registration per account (API ``oauth-clients``).

A client acts for one application of the account, so registering one hands
out that application's power: the caller must hold every grant it holds. A
confidential client's secret is shown once.
"""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from pydantic import Field

from edgeward.cloud.api.authz import requires
from edgeward.cloud.api.common import record, transaction, within_own_grants
from edgeward.cloud.api.models import RequestBody
from edgeward.cloud.identity import accounts
from edgeward.cloud.identity import grants as grant_maps
from edgeward.cloud.identity.principal import Principal
from edgeward.cloud.oauth2 import clients, families
from edgeward.cloud.storage.owned import owned_ids, owned_row
from edgeward.cloud.storage.schema import oauth_clients
from edgeward.sync.clock import now_us

router = APIRouter(tags=["oauth-clients"])
Caller = Annotated[Principal, requires("oauth-clients")]


class NewClient(RequestBody):
    name: str = Field(min_length=1, max_length=200)
    application_id: str = Field(min_length=1, max_length=32)
    redirect_uris: list[str] = Field(max_length=20)
    public: bool = Field(False, description="an app that can't keep a secret: PKCE, no secret")


@router.get("/v1/oauth-clients", summary="List OAuth 2 clients")
def list_clients(request: Request, principal: Caller) -> Any:
    with transaction(request) as connection:
        ids = owned_ids(connection, oauth_clients, principal.account_id)
        rows = [
            owned_row(connection, oauth_clients, principal.account_id, i, "client") for i in ids
        ]
    return {"items": [clients.describe(row) for row in rows]}


@router.post(
    "/v1/oauth-clients",
    status_code=201,
    summary="Register an OAuth 2 client; a confidential client's secret is shown once",
)
def register_client(request: Request, body: NewClient, principal: Caller) -> Any:
    with transaction(request) as connection:
        application = accounts.get_application(
            connection, principal.account_id, body.application_id
        )
        within_own_grants(
            principal, grant_maps.from_json(application["grants"]), "this client's application"
        )
        described, secret = clients.register(
            connection,
            request.app.state.settings.pepper,
            principal.account_id,
            body.model_dump(),
            now_us(),
        )
        record(
            connection,
            request,
            principal,
            "oauth2.client.created",
            described["id"],
            application=body.application_id,
            type=described["type"],
            redirect_uris=body.redirect_uris,
        )
    if secret is not None:
        described["client_secret"] = secret
        described["note"] = "the secret is shown once; the cloud keeps only a keyed hash of it"
    return described


@router.get("/v1/oauth-clients/{client_id}", summary="One OAuth 2 client (never its secret)")
def get_client(request: Request, client_id: str, principal: Caller) -> Any:
    with transaction(request) as connection:
        return clients.describe(
            owned_row(connection, oauth_clients, principal.account_id, client_id, "client")
        )


@router.delete(
    "/v1/oauth-clients/{client_id}",
    status_code=204,
    summary="Remove a client and revoke every token it was issued",
)
def remove_client(request: Request, client_id: str, principal: Caller) -> Response:
    now = now_us()
    with transaction(request) as connection:
        owned_row(connection, oauth_clients, principal.account_id, client_id, "client")
        connection.execute(
            sa.update(oauth_clients)
            .where(oauth_clients.c.id == client_id, oauth_clients.c.revoked_us.is_(None))
            .values(revoked_us=now)
        )
        revoked = families.revoke_client(connection, client_id, now)
        record(connection, request, principal, "oauth2.client.removed", client_id, tokens=revoked)
    return Response(status_code=204)
