"""OAuth 2 endpoints: authorization (consent page), token, revocation,
introspection and metadata. They are public routes in the sense of
:func:`public`: each authenticates its caller the way its RFC says (the
client by its secret or PKCE, the user on the consent page by their token).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from authlib.oauth2.rfc6749.errors import InvalidScopeError, OAuth2Error
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from edgeward.cloud.api.authz import Authenticator, public
from edgeward.cloud.errors import CloudError, RateLimited
from edgeward.cloud.identity import audit
from edgeward.cloud.identity import grants as grant_maps
from edgeward.cloud.identity.principal import Principal
from edgeward.cloud.oauth2 import consent, rfc8414, scopes
from edgeward.cloud.oauth2.bridge import Answer, Call, Snapshot, run, snapshot
from edgeward.cloud.oauth2.families import Owner
from edgeward.cloud.oauth2.rfc6749 import AuthorizationServer
from edgeward.cloud.storage.schema import oauth_clients, users

router = APIRouter(tags=["oauth2"])


@router.get(
    "/.well-known/oauth-authorization-server",
    summary="Authorization server metadata (RFC 8414)",
    dependencies=[public()],
)
def server_metadata(request: Request) -> dict[str, Any]:
    return rfc8414.metadata(str(request.base_url))


@router.get(
    rfc8414.AUTHORIZE_PATH,
    summary="The consent page (RFC 6749 section 4.1.1)",
    dependencies=[public()],
    response_class=Response,
)
async def authorization_page(request: Request) -> Response:
    snap = await snapshot(request)
    try:
        principal = await _signed_in(request, snap, None)
    except CloudError as exc:
        return consent.error_page(exc.status_code, exc.code, exc.message).response()
    server: AuthorizationServer = request.app.state.oauth2
    database = request.app.state.database
    answer = await run(database, snap, lambda call: _page(server, call, snap, principal))
    return answer.response()


@router.post(
    rfc8414.AUTHORIZE_PATH,
    summary="Approve or deny on the consent page; redirects to the client",
    dependencies=[public()],
    response_class=Response,
)
async def authorization_decision(request: Request) -> Response:
    snap = await snapshot(request)
    form = dict(snap.form)
    problem = None
    principal = None
    if form.get("decision") == "approve":
        try:
            principal = await _signed_in(request, snap, form.get("credential") or None)
        except CloudError as exc:
            problem = f"your token was not accepted ({exc.message})"
    server: AuthorizationServer = request.app.state.oauth2
    database = request.app.state.database
    answer = await run(database, snap, lambda call: _decide(server, call, snap, principal, problem))
    return answer.response()


@router.post(
    rfc8414.TOKEN_PATH, summary="Token endpoint (RFC 6749 section 3.2)", dependencies=[public()]
)
async def token(request: Request) -> Response:
    server: AuthorizationServer = request.app.state.oauth2
    return await _endpoint(request, "token", server.create_token_response)


@router.post(rfc8414.REVOKE_PATH, summary="Revoke a token (RFC 7009)", dependencies=[public()])
async def revoke(request: Request) -> Response:
    server: AuthorizationServer = request.app.state.oauth2
    return await _endpoint(
        request, "revoke", lambda snap: server.create_endpoint_response("revocation", snap)
    )


@router.post(
    rfc8414.INTROSPECT_PATH, summary="Introspect a token (RFC 7662)", dependencies=[public()]
)
async def introspect(request: Request) -> Response:
    server: AuthorizationServer = request.app.state.oauth2
    return await _endpoint(
        request, "introspect", lambda snap: server.create_endpoint_response("introspection", snap)
    )


async def _endpoint(request: Request, name: str, handle: Any) -> Response:
    """A client-authenticated endpoint. Failed client authentications count
    against the caller's address like failed tokens do (same limiter)."""
    snap = await snapshot(request)
    limiter = request.app.state.authenticator.limiter
    address = f"address:{snap.client}"
    wait = limiter.retry_after(address)
    if wait is not None:
        raise RateLimited("too many failed authentications; retry later", retry_after=wait)

    def work(call: Call) -> Answer:
        try:
            answer: Answer = handle(snap)
        except OAuth2Error as error:
            # Raised before authlib's own handling: a plain-http URL off loopback.
            answer = Answer(*error())
        if answer.status >= 400:
            _audit_failure(call, snap, name, answer)
        return answer

    answer = await run(request.app.state.database, snap, work)
    if answer.status == 401:
        limiter.failed(address)
    return answer.response()


async def _signed_in(request: Request, snap: Snapshot, typed: str | None) -> Principal | None:
    """The user signing in to the consent page: their bearer header, else the token typed.

    Authenticated before the OAuth transaction opens, through the same
    Authenticator (and so the same failure audit and rate limits) as the API.
    """
    scheme, _, header_secret = snap.headers.get("authorization", "").partition(" ")
    secret = header_secret.strip() if scheme.lower() == "bearer" else typed
    if not secret:
        return None
    authenticator: Authenticator = request.app.state.authenticator
    principal: Principal = await run_in_threadpool(
        authenticator.authenticate_secret, secret, snap.client
    )
    return principal


def _consent_grant(server: AuthorizationServer, call: Call, snap: Snapshot) -> Any:
    """authlib's validated authorization request, or the answer to a bad one: a
    redirect carrying the error only once the redirect URI is known to be the
    client's (RFC 6749 section 4.1.2.1), an error page otherwise. Audited."""
    try:
        return server.get_consent_grant(snap, end_user=None)
    except OAuth2Error as error:
        _audit_failure(call, snap, "authorize", Answer(error.status_code, {"error": error.error}))
        if error.redirect_uri:
            return server.handle_error_response(None, error)
        return consent.error_page(error.status_code, error.error, error.description)


def _who(call: Call, principal: Principal) -> str:
    email = call.connection.execute(
        users.select().with_only_columns(users.c.email).where(users.c.id == principal.id)
    ).scalar_one()
    return str(email)


def _refusal(grant: Any, principal: Principal) -> str | None:
    if principal.kind != "user" or principal.account_id != grant.request.client.account_id:
        return "only a user of the client's own account can authorize it"
    return None


def _page(
    server: AuthorizationServer, call: Call, snap: Snapshot, principal: Principal | None
) -> Answer:
    grant = _consent_grant(server, call, snap)
    if isinstance(grant, Answer):
        return grant
    signed_in_as = None
    if principal is not None:
        refusal = _refusal(grant, principal)
        if refusal is not None:
            return consent.error_page(403, "access_denied", refusal)
        # A scope beyond the user answers invalid_scope at once, before any click.
        owner = Owner("user", principal.id, principal.account_id, principal.grants)
        answer = _check_scope(server, grant, owner)
        if answer is not None:
            return answer
        signed_in_as = _who(call, principal)
    return consent.page(
        client_name=grant.request.client.name,
        redirect_uri=grant.redirect_uri,
        grants=scopes.parse(grant.request.scope),
        query=snap.query,
        signed_in_as=signed_in_as,
    )


def _check_scope(server: AuthorizationServer, grant: Any, owner: Owner) -> Answer | None:
    beyond = grant_maps.excess(scopes.parse(grant.request.scope), owner.grants)
    if not beyond:
        return None
    error = InvalidScopeError(
        description=f"you do not hold {' '.join(beyond)}", redirect_uri=grant.redirect_uri
    )
    error.state = grant.request.payload.state
    answer: Answer = server.handle_error_response(None, error)
    return answer


def _decide(
    server: AuthorizationServer,
    call: Call,
    snap: Snapshot,
    principal: Principal | None,
    problem: str | None,
) -> Answer:
    grant = _consent_grant(server, call, snap)
    if isinstance(grant, Answer):
        return grant
    client = grant.request.client
    decision = dict(snap.form).get("decision")
    if decision == "deny":
        audit.record(
            call.connection,
            "oauth2.consent.denied",
            account_id=client.account_id,
            target=client.id,
            client=call.client,
        )
        return _authorize(server, call, snap, grant, None)
    if decision != "approve":
        return consent.error_page(400, "invalid_request", "decision must be approve or deny")
    refusal = problem or ("sign in with your Edgeward token" if principal is None else None)
    if refusal is None and principal is not None:
        refusal = _refusal(grant, principal)
    if refusal is not None or principal is None:
        return consent.page(
            client_name=client.name,
            redirect_uri=grant.redirect_uri,
            grants=scopes.parse(grant.request.scope),
            query=snap.query,
            signed_in_as=None,
            problem=refusal,
            status=401 if principal is None else 403,
        )
    return _authorize(
        server,
        call,
        snap,
        grant,
        Owner("user", principal.id, principal.account_id, principal.grants),
    )


def _authorize(
    server: AuthorizationServer, call: Call, snap: Snapshot, grant: Any, owner: Owner | None
) -> Answer:
    answer: Answer = server.create_authorization_response(
        grant.request, grant_user=owner, grant=grant
    )
    location = dict(answer.headers).get("Location", "")
    if owner is not None and "error=" in location:
        error = parse_qs(urlsplit(location).query).get("error", ["?"])[0]
        _audit_failure(call, snap, "authorize", Answer(answer.status, {"error": error}))
    return answer


def _audit_failure(call: Call, snap: Snapshot, endpoint: str, answer: Answer) -> None:
    """Every refused OAuth request goes to the audit log, of the client's account when
    the client is known; never with a secret."""
    form = dict(snap.query + snap.form)
    client_id = form.get("client_id") or extract_basic_authorization(snap.headers)[0]
    account_id = None
    if client_id:
        account_id = call.connection.execute(
            oauth_clients.select()
            .with_only_columns(oauth_clients.c.account_id)
            .where(oauth_clients.c.id == client_id)
        ).scalar_one_or_none()
    body = answer.body if isinstance(answer.body, dict) else {}
    audit.record(
        call.connection,
        "oauth2.failed",
        account_id=account_id,
        actor=f"client:{client_id}" if client_id and account_id else None,
        client=call.client,
        endpoint=endpoint,
        error=body.get("error"),
        grant_type=form.get("grant_type"),
    )
