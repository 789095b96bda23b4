"""The OpenAPI document as a generated client needs it, derived from the routes.

Three things FastAPI cannot know by itself are added here, from what the
routes already declare, so the document cannot drift from what they do:

- the error model, once: every documented 4xx answers :class:`Error`, the
  ``{"error": {...}}`` the exception handlers of :mod:`.app` really send
  (FastAPI's default 422 ``HTTPValidationError`` is never what we answer);
- the security of each route, from its :func:`.authz.requires`: a bearer
  token, or an OAuth 2 access token with the scope ``<api>:<VERB>`` (the
  cloud's own authorization server, :mod:`edgeward.cloud.oauth2`); public
  routes declare none;
- operationIds, unique by construction: the route's name, one method a route.

OAuth 1.0a signed requests (``Authorization: OAuth ...``) are accepted
wherever a bearer token is, but OpenAPI has no scheme for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from edgeward.cloud.api.authz import Requirement
from edgeward.cloud.api.models import Error
from edgeward.cloud.identity import grants as grant_maps
from edgeward.cloud.oauth2 import rfc8414, scopes

ERROR_REF = {"$ref": "#/components/schemas/Error"}

# What each status means on this API; a route documents those it really answers.
STATUS_MEANING = {
    400: "A parameter is malformed (named in error.field)",
    401: "No credential, or one that is malformed, unknown, expired or revoked",
    403: "The credential does not grant this API and verb, or the request exceeds it",
    404: "No such object in the caller's account",
    409: "Conflicts with the current state of the object",
    413: "The body is too large",
    422: "A parameter or body field is invalid or unknown (named in error.field)",
    429: "Too many failed authentications from this address; see Retry-After",
    502: "The proxied destination failed",
    503: "A service the request needs is away; see Retry-After",
    504: "The proxied destination did not answer",
}

BEARER = "bearer"
OAUTH2 = "oauth2"


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=errors(404, 409)``: statuses a route answers besides those every route
    of its kind answers (see :func:`document_routes`), each with the one error body."""
    return {status: _error_response(status) for status in statuses}


def _error_response(status: int) -> dict[str, Any]:
    return {
        "description": STATUS_MEANING[status],
        "content": {"application/json": {"schema": ERROR_REF}},
    }


def operation_id(route: APIRoute) -> str:
    """The route's name (its function's, unless the route names itself): what a
    generated client calls the operation. One method per route keeps it unique."""
    if route.methods is None or len(route.methods) != 1:
        raise ValueError(f"{route.path}: one method per route, so each has its own operationId")
    return route.name


def operation_method(route: APIRoute) -> str:
    """The one method of ``route`` (see :func:`operation_id`)."""
    operation_id(route)
    return next(iter(route.methods or ()))


def _requirement(route: APIRoute) -> Requirement | None:
    for dependency in route.dependant.dependencies:
        if isinstance(dependency.call, Requirement):
            return dependency.call
    return None


def _implied_statuses(route: APIRoute, requirement: Requirement | None) -> list[int]:
    """The 4xx every route of this shape answers: authentication and grant failures for
    a route with an API, 404 for a path naming an object, 422 for anything it parses."""
    implied = []
    if requirement is not None and requirement.api is not None:
        implied += [401, 403, 429]
    if route.dependant.path_params:
        implied.append(404)
    if _parses_parameters(route.dependant) or route.body_field:
        implied.append(422)
    return implied


def _parses_parameters(dependant: Dependant) -> bool:
    """Path or query parameters in the route or any dependency (a shared filter)."""
    if dependant.path_params or dependant.query_params:
        return True
    return any(_parses_parameters(sub) for sub in dependant.dependencies)


def document_routes(routes: Iterable[APIRoute]) -> None:
    """Give every route its error responses and security before the document is built."""
    for route in routes:
        requirement = _requirement(route)
        for status in _implied_statuses(route, requirement):
            route.responses.setdefault(status, _error_response(status))
        if requirement is None or requirement.api is None:
            continue
        method = operation_method(route)
        scope = f"{requirement.api}:{method}"
        security: list[dict[str, list[str]]] = [{BEARER: []}]
        if requirement.api not in grant_maps.GATEWAY_ONLY:
            # Gateway-only APIs (ingest, registry) take a gateway credential, never
            # an OAuth 2 access token: no scope names them.
            security.append({OAUTH2: [scope]})
        route.openapi_extra = {**(route.openapi_extra or {}), "security": security}


def security_schemes() -> dict[str, Any]:
    every = {scope: scope for scope in scopes.every_scope()}
    return {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token (POST /v1/tokens), a gateway credential or an "
            "OAuth 2 access token, as `Authorization: Bearer <secret>`.",
        },
        OAUTH2: {
            "type": "oauth2",
            "description": "The cloud's own OAuth 2 server (RFC 6749; PKCE per RFC 7636 "
            "for public clients). A scope is a grant: `<api>:<VERB>`.",
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": rfc8414.AUTHORIZE_PATH,
                    "tokenUrl": rfc8414.TOKEN_PATH,
                    "refreshUrl": rfc8414.TOKEN_PATH,
                    "scopes": every,
                },
                "clientCredentials": {"tokenUrl": rfc8414.TOKEN_PATH, "scopes": every},
            },
        },
    }


def install(app: FastAPI, routes: Iterable[APIRoute], extra_schemas: dict[str, Any]) -> None:
    """Document ``routes`` and make ``app.openapi`` add the shared components:
    the error model, the security schemes and ``extra_schemas``."""
    document_routes(routes)
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            components = document.setdefault("components", {})
            schemas = components.setdefault("schemas", {})
            schemas.update(extra_schemas)
            error = Error.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(error.pop("$defs"))
            schemas["Error"] = error
            components["securitySchemes"] = security_schemes()
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
