"""The one enforcement point: every route declares the API it belongs to.

``Annotated[Principal, requires("readings")]`` authenticates the bearer
token and checks that it grants the request's HTTP verb on that API. Routes
that need no credential declare :func:`public` instead, so that a test can
list every route and fail on one that declares neither.

Two credentials are accepted: ``Authorization: Bearer <token>`` (API tokens,
gateway credentials and OAuth 2 access tokens alike) and ``Authorization:
OAuth ...``, a request signed per OAuth 1.0a (RFC 5849, see
:mod:`edgeward.cloud.oauth1.rfc5849`), which acts with the token its
credentials stand for.

Every authentication failure answers the same 401 body, whatever the cause
(malformed, unknown, expired, revoked, regenerated away), so the answer is
no oracle; the cause goes to the audit log. OAuth 1 failures that concern
only the request the client itself made (stale timestamp, replayed nonce,
bad signature) name that cause, as RFC 5849 section 3.2 expects. Failures are rate-limited per
client address (checked before anything else) and per token prefix (for
failing secrets only, so nobody can lock out a token by guessing at it).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import Depends, Request

from edgeward.cloud.auth import credentials
from edgeward.cloud.errors import Forbidden, RateLimited, Unauthenticated
from edgeward.cloud.identity import audit
from edgeward.cloud.identity.principal import Principal
from edgeward.cloud.identity.ratelimit import FailureLimiter
from edgeward.cloud.identity.tokens import Authentication, authenticate, authenticate_by_id
from edgeward.cloud.oauth1.rfc5849 import Refused, SignedRequests
from edgeward.cloud.storage.database import Database
from edgeward.sync.clock import now_us

UNAUTHENTICATED = "missing, malformed, unknown, expired or revoked credential"


class Authenticator:
    """Turns a request's bearer secret into a :class:`Principal`."""

    def __init__(
        self,
        database: Database,
        pepper: bytes,
        limiter: FailureLimiter,
        oauth1: SignedRequests,
    ) -> None:
        self.database = database
        self.pepper = pepper
        self.limiter = limiter
        self.oauth1 = oauth1

    def _checked_address(self, client: str) -> str:
        """The limiter's key for ``client``; RateLimited while it has failed too often."""
        address = f"address:{client}"
        wait = self.limiter.retry_after(address)
        if wait is not None:
            raise RateLimited("too many failed authentications; retry later", retry_after=wait)
        return address

    def authenticate(self, request: Request) -> Principal:
        client = request.client.host if request.client else "unknown"
        scheme = request.headers.get("Authorization", "").partition(" ")[0]
        if scheme.lower() == "oauth":
            return self.authenticate_signed(request, client)
        return self.authenticate_secret(_bearer(request), client)

    def authenticate_signed(self, request: Request, client: str) -> Principal:
        """An OAuth 1.0a signed request (RFC 5849 section 3.2)."""
        address = self._checked_address(client)
        message = UNAUTHENTICATED
        with self.database.engine.connect() as connection:
            try:
                if _has_form_body(request):
                    raise Refused("form-body", None)
                token_id = self.oauth1.verify(
                    connection, request.method, str(request.url), request.headers
                )
                result = authenticate_by_id(connection, token_id, now_us())
            except Refused as refused:
                result = Authentication(
                    None, f"oauth1:{refused.reason}", account_id=refused.account_id
                )
                message = OAUTH1_REFUSALS.get(refused.reason, UNAUTHENTICATED)
                prefix = refused.consumer_key
            else:
                prefix = None
            if result.principal is None:
                _audit_failure(connection, result, client, consumer_key=prefix)
            connection.commit()
        if result.principal is not None:
            return result.principal
        self.limiter.failed(address)
        raise Unauthenticated(message)

    def authenticate_secret(self, secret: str | None, client: str) -> Principal:
        """The principal of a bearer ``secret`` presented from address ``client``
        (the header's, or one typed into the OAuth consent page)."""
        address = self._checked_address(client)
        if not secret:
            self.limiter.failed(address)
            raise Unauthenticated(UNAUTHENTICATED)
        # connect() rather than begin(): the usual lookup only reads, and the
        # commit below costs nothing then; it keeps the rare writes (last use,
        # idle revocation, the audit of a failure).
        with self.database.engine.connect() as connection:
            result = authenticate(connection, self.pepper, secret, now_us())
            if result.principal is None:
                _audit_failure(connection, result, client, prefix=_loggable_prefix(secret))
            connection.commit()
        if result.principal is not None:
            return result.principal
        # The prefix limit applies to failures only: guesses at a known token's
        # prefix are slowed, while the holder of the real secret never is.
        bucket = f"prefix:{_loggable_prefix(secret) or 'malformed'}"
        wait = self.limiter.retry_after(bucket)
        self.limiter.failed(address, bucket)
        if wait is not None:
            raise RateLimited("too many failed authentications; retry later", retry_after=wait)
        raise Unauthenticated(UNAUTHENTICATED)


def _audit_failure(
    connection: sa.Connection, result: Authentication, client: str, **detail: str | None
) -> None:
    audit.record(
        connection,
        "auth.failed",
        account_id=result.account_id,
        target=result.token_id,
        client=client,
        reason=result.reason,
        **detail,
    )


# What a signed request is told about its own mistakes (RFC 5849 section 3.2);
# an unknown or revoked credential gets the uniform answer.
OAUTH1_REFUSALS = {
    "invalid_nonce": "OAuth 1.0a: this nonce was used before (replay)",
    "invalid_signature": "OAuth 1.0a: the signature does not verify",
    "invalid_request": "OAuth 1.0a: stale, future or malformed oauth_timestamp or parameters",
    "missing_required_parameter": "OAuth 1.0a: a required oauth_ parameter is missing",
    "unsupported_signature_method": "OAuth 1.0a: signature method not accepted here",
    "form-body": "OAuth 1.0a: send JSON; form-encoded bodies are not accepted with OAuth 1",
}


def _has_form_body(request: Request) -> bool:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return content_type == "application/x-www-form-urlencoded"


def _bearer(request: Request) -> str | None:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return secret.strip() or None


def _loggable_prefix(secret: str) -> str | None:
    """The display prefix of a well-formed secret; nothing of a malformed one, which
    might be a password pasted into the wrong place."""
    if credentials.kind_of(secret) is not None:
        return credentials.display_prefix(secret)
    return None


class Requirement:
    """A FastAPI dependency that remembers its API name for the route audit."""

    def __init__(self, api: str | None) -> None:
        self.api = api

    def __call__(self, request: Request) -> Principal | None:
        if self.api is None:
            return None
        authenticator: Authenticator = request.app.state.authenticator
        principal = authenticator.authenticate(request)
        verb = "GET" if request.method == "HEAD" else request.method
        if not principal.allows(self.api, verb):
            raise Forbidden(f"this token does not grant {verb} on {self.api!r}")
        return principal


def requires(api: str) -> Any:
    """``Annotated[Principal, requires("readings")]``: a route of API family ``api``."""
    return Depends(Requirement(api))


def public() -> Any:
    """Dependency for a route that needs no credential (health)."""
    return Depends(Requirement(None))
