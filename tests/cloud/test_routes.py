"""Every route declares the API it belongs to: none can skip authorization."""

from __future__ import annotations

from pathlib import Path

from fastapi.routing import APIRoute
from starlette.routing import Route

from edgeward.cloud.api.app import api_routes, create_app
from edgeward.cloud.api.authz import Requirement
from edgeward.cloud.config.settings import CloudSettings

# Served by FastAPI itself: the API document and its viewers, public by design.
FRAMEWORK_ROUTES = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
# The OAuth callback: the vendor sends the user's browser, which holds no Edgeward
# token; the single-use state is the credential.
PUBLIC_ROUTES = {
    "/healthz",
    "/v1/registry/public-key",
    "/v1/enroll",
    # The directory password is the credential; failures are rate-limited per address.
    "/v1/directory/sign-in",
    "/v1/connections/callback",
    # OAuth 2: each authenticates its caller as its RFC says (client secret, PKCE,
    # the user's token on the consent page).
    "/.well-known/oauth-authorization-server",
    "/oauth2/authorize",
    "/oauth2/token",
    "/oauth2/revoke",
    "/oauth2/introspect",
}


def declared_requirements(route: APIRoute) -> list[Requirement]:
    return [
        dependency.call
        for dependency in route.dependant.dependencies
        if isinstance(dependency.call, Requirement)
    ]


def test_every_route_declares_its_api(tmp_path: Path) -> None:
    settings = CloudSettings.load(tmp_path, f"sqlite:///{tmp_path / 'cloud.db'}")
    app = create_app(settings)
    routes = api_routes(app)
    assert {route.path for route in routes} >= {"/v1/ingest/batches", "/v1/readings"}
    for route in routes:
        requirements = declared_requirements(route)
        assert len(requirements) == 1, (
            f"{route.path} must declare exactly one API (requires/public)"
        )
        if requirements[0].api is None:
            assert route.path in PUBLIC_ROUTES, f"{route.path} is public but not listed as such"
    framework = {
        route.path
        for route in app.routes
        if isinstance(route, Route) and not isinstance(route, APIRoute)
    }
    assert framework <= FRAMEWORK_ROUTES


def test_the_apis_of_the_skeleton(tmp_path: Path) -> None:
    settings = CloudSettings.load(tmp_path, f"sqlite:///{tmp_path / 'cloud.db'}")
    app = create_app(settings)
    apis = {
        (route.path, requirement.api)
        for route in api_routes(app)
        for requirement in declared_requirements(route)
    }
    assert ("/v1/ingest/batches", "ingest") in apis
    assert ("/v1/readings", "readings") in apis
