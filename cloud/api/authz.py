"""The one enforcement point: every route declares the API it belongs to.

``Depends(requires("readings"))`` authenticates the bearer credential and
checks that it grants the request's HTTP verb on that API. Routes that need
no credential declare :func:`public` instead, so that a test can list every
route and fail on one that declares neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, Request

from edgeward.cloud.auth import credentials
from edgeward.cloud.errors import Forbidden, Unauthenticated
from edgeward.cloud.gateways import authenticate_gateway
from edgeward.cloud.tokens import grants_of_token

# A gateway's credential grants exactly this: sending its own readings.
GATEWAY_GRANTS: dict[str, frozenset[str]] = {"ingest": frozenset({"POST"})}


@dataclass(frozen=True, slots=True)
class Principal:
    kind: str  # "gateway" or "token"
    id: str | None
    grants: dict[str, frozenset[str]] = field(default_factory=dict)

    def allows(self, api: str, verb: str) -> bool:
        return verb in self.grants.get(api, frozenset())


def _bearer(request: Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthenticated("send a credential as 'Authorization: Bearer <secret>'")
    return secret.strip()


def _authenticate(request: Request) -> Principal:
    secret = _bearer(request)
    kind = credentials.kind_of(secret)
    state = request.app.state
    with state.database.engine.connect() as connection:
        if kind == credentials.GATEWAY_CREDENTIAL:
            gateway_id = authenticate_gateway(connection, state.settings.pepper, secret)
            if gateway_id is not None:
                return Principal("gateway", gateway_id, GATEWAY_GRANTS)
        elif kind == credentials.API_TOKEN:
            grants = grants_of_token(connection, state.settings.pepper, secret)
            if grants is not None:
                return Principal("token", None, grants)
    raise Unauthenticated("unknown, revoked or malformed credential")


class Requirement:
    """A FastAPI dependency that remembers its API name for the route audit."""

    def __init__(self, api: str | None) -> None:
        self.api = api

    def __call__(self, request: Request) -> Principal | None:
        if self.api is None:
            return None
        principal = _authenticate(request)
        verb = "GET" if request.method == "HEAD" else request.method
        if not principal.allows(self.api, verb):
            raise Forbidden(f"this credential does not grant {verb} on {self.api!r}")
        return principal


def requires(api: str) -> Any:
    """``Annotated[Principal, requires("readings")]``: a route of API family ``api``."""
    return Depends(Requirement(api))


def public() -> Any:
    """Dependency for a route that needs no credential (health)."""
    return Depends(Requirement(None))
