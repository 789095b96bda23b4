"""Vendors and connections of the caller's account; the OAuth callback.

``POST /v1/connections {"vendor_id", "scopes"}`` answers the vendor's
authorize URL; the user goes there, and the vendor sends the browser back
to ``GET /v1/connections/callback`` with ``state`` and ``code`` (or
``error``); an OAuth 1.0a vendor (RFC 5849) sends ``oauth_token`` and
``oauth_verifier``, the state riding in the callback URL it was given.
The callback is public -- the browser carries no Edgeward token -- and the
state is the credential: single use, kept only as a keyed hash, valid for
15 minutes.
"""

from __future__ import annotations

import asyncio
import hmac
import os
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from pydantic import Field

from edgeward.cloud.api.authz import public, requires
from edgeward.cloud.api.common import record, transaction
from edgeward.cloud.api.models import RequestBody
from edgeward.cloud.connections import oauth1, oauth2, store
from edgeward.cloud.connections.vendors import (
    check_url,
    client_secret,
    create_vendor,
    get_vendor,
    list_vendors,
)
from edgeward.cloud.errors import BadGateway, BadRequest, Conflict, GatewayTimeout
from edgeward.cloud.identity import audit
from edgeward.cloud.identity.principal import Principal
from edgeward.sync.clock import now_us

router = APIRouter(tags=["connections"])
Caller = Annotated[Principal, requires("connections")]
CALLBACK = "/v1/connections/callback"


class NewVendor(RequestBody):
    name: str = Field(min_length=1, max_length=64)
    template: str | None = Field(default=None, max_length=32)
    client_id: str = Field(min_length=1, max_length=500)
    client_secret: str = Field(min_length=1, max_length=2000)
    authorize_url: str | None = Field(default=None, max_length=2000)
    token_url: str | None = Field(default=None, max_length=2000)
    api_base_url: str | None = Field(default=None, max_length=2000)
    scope_separator: str | None = Field(default=None, max_length=1)
    pkce: bool | None = None
    client_auth: str | None = Field(default=None, max_length=32)
    extra_authorize_params: dict[str, str] | None = None
    instance_url_field: str | None = Field(default=None, max_length=64)
    long_lived_exchange: bool | None = None
    protocol: str | None = Field(default=None, max_length=8)
    request_token_url: str | None = Field(default=None, max_length=2000)
    access_token_url: str | None = Field(default=None, max_length=2000)


class NewConnection(RequestBody):
    vendor_id: str = Field(min_length=1, max_length=32)
    scopes: list[str] = Field(default_factory=list, max_length=50)


@router.get("/v1/vendors", summary="Vendors (OAuth 2 client registrations) of the account")
def vendors_list(request: Request, principal: Caller) -> Any:
    with transaction(request) as connection:
        return {"items": list_vendors(connection, principal.account_id)}


@router.post(
    "/v1/vendors", status_code=201, summary="Register a vendor; its client secret is sealed"
)
def vendors_create(request: Request, body: NewVendor, principal: Caller) -> Any:
    given = body.model_dump(exclude_none=True)
    with transaction(request) as connection:
        created = create_vendor(
            connection, request.app.state.keyring, principal.account_id, given, now_us()
        )
        record(connection, request, principal, "vendor.created", created["id"], name=body.name)
    return created


@router.get("/v1/vendors/{vendor_id}", summary="One vendor (never its client secret)")
def vendors_get(request: Request, vendor_id: str, principal: Caller) -> Any:
    with transaction(request) as connection:
        return get_vendor(connection, principal.account_id, vendor_id)


@router.get("/v1/connections", summary="Connections to vendor accounts")
def connections_list(request: Request, principal: Caller) -> Any:
    with transaction(request) as connection:
        return {"items": store.list_connections(connection, principal.account_id)}


@router.post(
    "/v1/connections",
    status_code=201,
    summary="Start connecting a vendor account: answers the vendor's authorize URL",
)
def connections_start(request: Request, body: NewConnection, principal: Caller) -> Any:
    state = request.app.state
    redirect_uri = _public_url(request) + CALLBACK
    with transaction(request) as connection:
        connection_id, oauth_state, vendor, verifier = store.start(
            connection,
            state.keyring,
            state.settings.pepper,
            principal.account_id,
            body.vendor_id,
            body.scopes,
            redirect_uri,
            now_us(),
        )
        record(connection, request, principal, "connection.started", connection_id)
        described = store.describe(connection, principal.account_id, connection_id)
    if vendor.protocol == "oauth1":
        url = _oauth1_start(request, connection_id, vendor, oauth_state, redirect_uri)
    else:
        url = oauth2.authorize_url(
            vendor.settings, vendor.client_id, oauth_state, redirect_uri, body.scopes, verifier
        )
    return {**described, "authorize_url": url}


def _oauth1_start(
    request: Request, connection_id: str, vendor: Any, oauth_state: str, redirect_uri: str
) -> str:
    """RFC 5849 section 2.1: temporary credentials, asked for with our callback and state."""
    app = request.app.state
    callback = f"{redirect_uri}?{urlencode({'state': oauth_state})}"
    client = (vendor.client_id, client_secret(app.keyring, vendor))
    try:
        temporary = oauth1.request_token(
            vendor.settings, client, callback, app.egress, app.settings.proxy_timeout_s
        )
    except oauth2.VendorError as exc:
        with transaction(request) as connection:
            store.fail(connection, connection_id, exc.message, now_us())
        kind = GatewayTimeout if "in time" in exc.message else BadGateway
        raise kind(f"the vendor's request-token endpoint failed: {exc.message}") from None
    with transaction(request) as connection:
        document = {"request_token": temporary[0], "request_token_secret": temporary[1]}
        store.set_pending(connection, app.keyring, connection_id, document)
    return oauth1.authorize_url(vendor.settings, temporary[0])


@router.get(CALLBACK, dependencies=[public()], summary="Where the vendor sends the user back")
async def connections_callback(
    request: Request,
    state: str = "",
    code: str | None = None,
    error: str | None = None,
    oauth_token: str | None = None,
    oauth_verifier: str | None = None,
) -> Any:
    if oauth_token is not None or oauth_verifier is not None:
        return await asyncio.to_thread(
            _oauth1_callback, request, state, oauth_token or "", oauth_verifier or ""
        )
    return await asyncio.to_thread(_callback, request, state, code, error)


def _oauth1_callback(request: Request, state: str, token: str, verifier: str) -> Any:
    """RFC 5849 section 2.3: the verifier and temporary credentials for token credentials."""
    app = request.app.state
    with transaction(request) as connection:
        item = store.pending(connection, app.keyring, app.settings.pepper, state, now_us())
        secret = client_secret(app.keyring, item.vendor)
    expected = str(item.secrets.get("request_token", ""))
    if item.vendor.protocol != "oauth1" or not hmac.compare_digest(token, expected) or not verifier:
        raise BadRequest(
            "oauth_token or oauth_verifier does not match this connection", field="oauth_token"
        )
    try:
        tokens = oauth1.access_token(
            item.vendor.settings,
            (item.vendor.client_id, secret),
            (expected, str(item.secrets["request_token_secret"])),
            verifier,
            app.egress,
            app.settings.proxy_timeout_s,
        )
    except oauth2.VendorError as exc:
        kind = GatewayTimeout if "in time" in exc.message else BadGateway
        raise kind(f"the vendor's access-token endpoint failed: {exc.message}") from None
    return _store_tokens(request, state, item, tokens, item.vendor.settings["api_base_url"])


def _store_tokens(
    request: Request, state: str, item: store.Pending, token: dict[str, Any], base: str | None
) -> Any:
    app = request.app.state
    with transaction(request) as connection:
        stored = store.complete(
            connection, app.keyring, app.settings.pepper, state, item, token, base, now_us()
        )
        if not stored:
            raise Conflict("this connection was completed or ended meanwhile", field="state")
        _audit(connection, request, item, "connection.connected")
        return store.describe(connection, item.account_id, item.connection_id)


def _callback(request: Request, state: str, code: str | None, error: str | None) -> Any:
    app = request.app.state
    now = now_us()
    with transaction(request) as connection:
        item = store.pending(connection, app.keyring, app.settings.pepper, state, now)
        if error is not None or not code:
            reason = f"the vendor answered {(error or 'no code')[:64]}"
            store.fail(connection, item.connection_id, reason, now)
            _audit(connection, request, item, "connection.failed", reason=reason)
        else:
            secret = client_secret(app.keyring, item.vendor)
    if error is not None or not code:
        raise BadRequest(f"connection {item.connection_id} failed: {reason}", field="error")
    settings = item.vendor.settings
    try:
        token = oauth2.exchange_code(
            settings,
            (item.vendor.client_id, secret),
            code,
            item.secrets.get("code_verifier"),
            item.secrets["redirect_uri"],
            app.egress,
            app.settings.proxy_timeout_s,
        )
        base = token.get(settings["instance_url_field"] or "") or settings["api_base_url"]
        base = check_url(str(base), "instance_url") if base else None
    except oauth2.VendorError as exc:
        # Nothing stored: the pending row stays for the user to retry until it expires.
        kind = GatewayTimeout if "in time" in exc.message else BadGateway
        raise kind(f"the vendor's token endpoint failed: {exc.message}") from None
    return _store_tokens(request, state, item, token, base)


def _audit(
    connection: Any, request: Request, item: store.Pending, event: str, **details: Any
) -> None:
    audit.record(
        connection,
        event,
        account_id=item.account_id,
        actor="vendor-callback",
        target=item.connection_id,
        client=request.client.host if request.client else None,
        **details,
    )


@router.get("/v1/connections/{connection_id}", summary="One connection (never its tokens)")
def connections_get(request: Request, connection_id: str, principal: Caller) -> Any:
    with transaction(request) as connection:
        return store.describe(connection, principal.account_id, connection_id)


@router.delete("/v1/connections/{connection_id}", status_code=204, summary="Forget a connection")
def connections_delete(request: Request, connection_id: str, principal: Caller) -> Response:
    with transaction(request) as connection:
        store.delete(connection, principal.account_id, connection_id)
        record(connection, request, principal, "connection.deleted", connection_id)
    return Response(status_code=204)


def _public_url(request: Request) -> str:
    """Where the vendor sends users back: ``$EDGEWARD_CLOUD_PUBLIC_URL`` or this request's base."""
    return os.environ.get("EDGEWARD_CLOUD_PUBLIC_URL", str(request.base_url)).rstrip("/")
