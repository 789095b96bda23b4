"""The FastAPI application: routers, the error shape, and the service's state."""

from __future__ import annotations

import asyncio
import contextlib
import http.cookiejar
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute

import edgeward
from edgeward.cloud.api import (
    accounts,
    applications,
    audit,
    connections,
    datasources,
    directory,
    docs_pages,
    enrollment,
    gateway_settings,
    gateways,
    ingest,
    keychain,
    oauth1,
    oauth2,
    oauth_clients,
    openapi,
    proxy,
    readings,
    registry,
    security_events,
    tokens,
    users,
    webhooks,
)
from edgeward.cloud.api.authz import Authenticator, public
from edgeward.cloud.api.models import Reply
from edgeward.cloud.config.settings import CloudSettings
from edgeward.cloud.crypto.keys import SealedBox, Signer
from edgeward.cloud.directory.gate import DirectoryGate
from edgeward.cloud.egress.guard import EgressPolicy
from edgeward.cloud.enrollment.hub import WireGuardHub, reconcile_at_start
from edgeward.cloud.enrollment.tunnel import HubSettings
from edgeward.cloud.errors import CloudError, RateLimited, ServiceUnavailable
from edgeward.cloud.identity.ratelimit import FailureLimiter
from edgeward.cloud.keychain.keyring import Keyring
from edgeward.cloud.oauth1.rfc5849 import SignedRequests
from edgeward.cloud.oauth2.rfc6749 import AuthorizationServer
from edgeward.cloud.proxy.forward import NoCookies
from edgeward.cloud.storage.database import Database
from edgeward.cloud.webhooks.deliverer import WebhookDeliverer

log = logging.getLogger(__name__)

ROUTERS = (
    accounts.router,
    users.router,
    applications.router,
    tokens.router,
    gateways.router,
    gateway_settings.router,
    datasources.router,
    registry.router,
    readings.router,
    security_events.router,
    webhooks.router,
    enrollment.router,
    audit.router,
    ingest.router,
    directory.router,
    keychain.router,
    connections.router,
    proxy.router,
    oauth_clients.router,
    oauth1.router,
    oauth2.router,
)


def create_app(settings: CloudSettings, *, migrate: bool = True) -> FastAPI:
    database = Database(settings.db_url)
    if migrate:
        database.migrate()

    sealed_box = SealedBox.from_data_dir(settings.data_dir)
    deliverer = WebhookDeliverer(
        database, sealed_box, allow_private=settings.webhooks_allow_private
    )

    # The proxy's egress: never through environment proxies (trust_env=False),
    # never following redirects (see edgeward.cloud.proxy.forward), and never
    # keeping a cookie: one client serves every account's calls.
    proxy_client = httpx.AsyncClient(
        cookies=http.cookiejar.CookieJar(policy=NoCookies()),
        timeout=settings.proxy_timeout_s,
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        delivering = asyncio.create_task(deliverer.run(), name="webhook deliveries")
        try:
            yield
        finally:
            delivering.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await delivering
            await proxy_client.aclose()
            database.dispose()

    app = FastAPI(
        title="Edgeward cloud API",
        version=edgeward.__version__,
        lifespan=lifespan,
        generate_unique_id_function=openapi.operation_id,
        # Served by docs_pages from the cloud's own files, never from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.sealed_box = sealed_box
    app.state.signer = Signer.from_data_dir(settings.data_dir)
    app.state.keyring = Keyring.load(settings.data_dir)
    app.state.egress = EgressPolicy(allowed_networks=settings.proxy_allow_networks)
    app.state.proxy_client = proxy_client
    app.state.hub = HubSettings.from_environment()
    app.state.wireguard_hub = WireGuardHub.from_environment()
    reconcile_at_start(app.state.wireguard_hub, database.engine)
    app.state.directory_gate = DirectoryGate()
    app.state.authenticator = Authenticator(
        database,
        settings.pepper,
        FailureLimiter(settings.auth_failure_limit, settings.auth_failure_window_s),
        SignedRequests(sealed_box, settings.oauth1_allow_hmac_sha1),
    )
    app.state.oauth2 = AuthorizationServer(settings.pepper)
    for router in ROUTERS:
        app.include_router(router)

    @app.get("/healthz", summary="Liveness", dependencies=[public()], tags=["health"])
    def healthz() -> Health:
        return Health(status="ok")

    _install_error_handlers(app)
    # NewType.spec refers to the type language's components, which only the
    # msgspec structs that parse it define.
    openapi.install(app, api_routes(app), datasources.SPEC_COMPONENTS)
    docs_pages.install(app)
    return app


class Health(Reply):
    status: Literal["ok"]


def api_routes(app: FastAPI) -> list[APIRoute]:
    """Every API route of ``app``, including those of included routers.

    FastAPI 0.120+ keeps included routers as ``_IncludedRouter`` entries that
    point at the original router instead of copying its routes; older
    versions copied them. Both shapes are walked, so the route audit cannot
    miss a route. Routers are included without a prefix, so paths are final.
    """
    found: list[APIRoute] = []
    pending: list[BaseRoute] = list(app.routes)
    while pending:
        route = pending.pop(0)
        if isinstance(route, APIRoute):
            found.append(route)
        elif (included := getattr(route, "original_router", None)) is not None:
            pending.extend(included.routes)
    return found


def _install_error_handlers(app: FastAPI) -> None:
    """One error shape for every failure: ``{"error": {"code", "message", "field"?}}``."""

    @app.exception_handler(CloudError)
    async def cloud_error(_request: Request, exc: CloudError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        if isinstance(exc, RateLimited | ServiceUnavailable) and exc.retry_after is not None:
            headers = {"Retry-After": str(exc.retry_after)}
        return JSONResponse(exc.to_json(), status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first: dict[str, Any] = exc.errors()[0] if exc.errors() else {}
        location = ".".join(str(part) for part in first.get("loc", ()) if part != "query")
        message = str(first.get("msg", "invalid request"))
        if first.get("type") == "extra_forbidden":
            # A field the API does not have: say so, never drop it (RequestBody).
            message = f"unknown field {str(first['loc'][-1])!r}"
        body = {
            "error": {
                "code": "invalid_request",
                "message": message,
                "field": location or None,
            }
        }
        return JSONResponse(body, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        # Still a JSON error, so clients parse every failure the same way; the
        # traceback goes to the log, never to the client.
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        body = {"error": {"code": "internal_error", "message": "internal error"}}
        return JSONResponse(body, status_code=500)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        body = {"error": {"code": code, "message": str(exc.detail)}}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)
