"""``/v1/proxy/<scheme>/<host>/<path>``: an application's call forwarded to a third party.

The proxy API's grants apply per verb to the proxied method (a token with
``proxy:GET`` only proxies GETs). Keychain references (``[~name]``) are
checked against each secret's hosts and positions and the destination
against the SSRF guard before anything leaves; then they are replaced and
the call is sent with httpx, the answer streamed back. The audit log
records each call that carried a secret, with each secret's name, version and an HMAC-SHA256
(RFC 2104) of the value under the server pepper -- enough to tell which
value was used, never the value. Errors and logs name hosts and secret
names only, never a URL that held a value.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from edgeward.cloud.api.authz import requires
from edgeward.cloud.connections import oauth1
from edgeward.cloud.connections.refresh import Access, current_access
from edgeward.cloud.egress import guard as egress
from edgeward.cloud.errors import (
    BadGateway,
    Conflict,
    DestinationRefused,
    GatewayTimeout,
    NotFound,
    PayloadTooLarge,
)
from edgeward.cloud.identity import audit
from edgeward.cloud.identity.principal import Principal
from edgeward.cloud.keychain import store
from edgeward.cloud.keychain.store import Resolved
from edgeward.cloud.proxy import forward, substitution
from edgeward.cloud.proxy.substitution import Use

router = APIRouter(tags=["proxy"])
Caller = Annotated[Principal, requires("proxy")]
MAX_BODY = 10 * 1024 * 1024
CONNECTION_PREFIX = "/v1/proxy/connections/"


PROXY_PATH = "/v1/proxy/{target:path}"
PROXY_SUMMARY = "Forward a call to a third party, substituting [~name] keychain values"


# One route per verb, each with its own name: a generated client gets one
# operation per verb (an operationId is the route's name, see api.openapi).
@router.get(PROXY_PATH, summary=PROXY_SUMMARY, name="proxy_get")
@router.post(PROXY_PATH, summary=PROXY_SUMMARY, name="proxy_post")
@router.put(PROXY_PATH, summary=PROXY_SUMMARY, name="proxy_put")
@router.delete(PROXY_PATH, summary=PROXY_SUMMARY, name="proxy_delete")
async def proxy(request: Request, target: str, principal: Caller) -> Any:
    raw_path = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
    query = request.scope["query_string"].decode("latin-1")
    headers = forward.outgoing_headers(
        [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
    )
    access: Access | None = None
    if raw_path.startswith(CONNECTION_PREFIX):
        connection_id, _, rest = raw_path[len(CONNECTION_PREFIX) :].partition("/")
        access = await _connection_access(request, principal, connection_id)
        parsed = forward.target_from_base(str(access.api_base_url), rest, query)
    else:
        parsed = forward.parse_target(raw_path, query)
    body = await _body(request)
    uses = substitution.find_uses(parsed.path, parsed.query, headers, body)
    secrets = await asyncio.to_thread(_resolve, request, principal.account_id, uses)
    substitution.check_uses(uses, secrets, parsed.host)
    path, query, out_headers, body = _substituted(parsed, headers, body, uses, secrets)
    if access is not None:  # after substitution: a token is never scanned for [~
        out_headers = [(n, v) for n, v in out_headers if n.lower() != "authorization"]
        out_headers.append(
            (
                "Authorization",
                _authorization(access, request.method, parsed, path, query, out_headers, body),
            )
        )
    upstream = await _send(request, parsed, parsed.url(path, query), out_headers, body)
    if secrets or access:  # a call that carried no secret is the application's own business
        try:
            await asyncio.to_thread(
                _audit, request, principal, parsed, uses, secrets, upstream.status_code, access
            )
        except BaseException:
            await upstream.aclose()
            raise
    return StreamingResponse(
        upstream.aiter_raw(),
        status_code=upstream.status_code,
        headers=_header_dict(forward.returned_headers(list(upstream.headers.multi_items()))),
        background=BackgroundTask(upstream.aclose),
    )


def _substituted(
    target: forward.Target,
    headers: list[tuple[str, str]],
    body: bytes,
    uses: list[Use],
    secrets: dict[str, Resolved],
) -> tuple[str, str, list[tuple[str, str]], bytes]:
    """Path, query, headers and body with every (already checked) reference replaced."""
    path = substitution.substitute_url_part(target.path, secrets)
    query = substitution.substitute_url_part(target.query, secrets)
    out_headers = [
        (name, substitution.substitute_header(value, secrets, f"headers.{name.lower()}"))
        for name, value in headers
    ]
    if any(use.position == "body" for use in uses):
        body = substitution.substitute_body(body, secrets)
    return path, query, out_headers, body


def _authorization(
    access: Access,
    method: str,
    target: forward.Target,
    path: str,
    query: str,
    headers: list[tuple[str, str]],
    body: bytes,
) -> str:
    """Bearer token (OAuth 2), or an RFC 5849 signature over this very request (OAuth 1.0a)."""
    if access.oauth1 is None:
        scheme = "Bearer" if access.token_type.lower() == "bearer" else access.token_type
        return f"{scheme} {access.token}"
    key, secret, token, token_secret = access.oauth1
    signed = oauth1.sign(
        (key, secret), (token, token_secret), method, target.url(path, query), dict(headers), body
    )
    return signed["Authorization"]


async def _connection_access(request: Request, principal: Principal, connection_id: str) -> Access:
    state = request.app.state
    access = await asyncio.to_thread(
        current_access,
        state.database,
        state.keyring,
        state.egress,
        principal.account_id,
        connection_id,
        state.settings.proxy_timeout_s,
    )
    if access.api_base_url is None:
        raise Conflict(
            f"connection {connection_id}: its vendor has no API base URL", field="target"
        )
    return access


async def _body(request: Request) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise PayloadTooLarge(f"a proxied body may hold at most {MAX_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _resolve(request: Request, account_id: str, uses: list[Use]) -> dict[str, Resolved]:
    keyring = request.app.state.keyring
    resolved: dict[str, Resolved] = {}
    if not uses:
        return resolved
    with request.app.state.database.engine.connect() as connection:
        for use in uses:
            if use.name in resolved:
                continue
            try:
                resolved[use.name] = store.resolve(connection, keyring, account_id, use.name)
            except NotFound as exc:
                raise NotFound(exc.message, field=use.field) from None
    return resolved


async def _send(
    request: Request,
    target: forward.Target,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes,
) -> httpx.Response:
    """Send and return the streaming answer; failures name the host only, never the URL."""
    client: httpx.AsyncClient = request.app.state.proxy_client
    pin_headers: dict[str, str] = {}
    try:
        pinned_url, extensions = await egress.pinned(url, pin_headers, request.app.state.egress)
    except egress.DestinationRefused as exc:
        raise DestinationRefused(str(exc), field="target") from None
    outgoing = httpx.Headers(headers)
    if "Host" in pin_headers:
        outgoing["Host"] = pin_headers["Host"]
    try:
        sent = client.build_request(
            request.method, pinned_url, headers=outgoing, content=body, extensions=extensions
        )
        return await client.send(sent, stream=True, follow_redirects=False)
    except httpx.TimeoutException:
        raise GatewayTimeout(f"{target.host} did not answer in time") from None
    except httpx.HTTPError as exc:
        raise BadGateway(f"{target.host}: {exc.__class__.__name__}") from None


def _audit(
    request: Request,
    principal: Principal,
    target: forward.Target,
    uses: list[Use],
    secrets: dict[str, Resolved],
    status: int,
    access: Access | None,
) -> None:
    pepper: bytes = request.app.state.settings.pepper
    used = [
        {
            "name": name,
            "version": secret.version,
            "positions": sorted({use.position for use in uses if use.name == name}),
            "value_hmac": hmac.new(
                pepper, b"keychain-audit:" + secret.value.encode(), hashlib.sha256
            ).hexdigest(),
        }
        for name, secret in sorted(secrets.items())
    ]
    with request.app.state.database.engine.begin() as connection:
        audit.record(
            connection,
            "proxy.call",
            account_id=principal.account_id,
            actor=principal.reference,
            target=target.host,
            client=request.client.host if request.client else None,
            method=request.method,
            scheme=target.scheme,
            path=target.path[:500],
            status=status,
            secrets=used,
            via_connection=access.connection_id if access else None,
        )


def _header_dict(pairs: list[tuple[str, str]]) -> Any:
    """Starlette takes a mapping; repeated fields (other than Set-Cookie, dropped) join."""
    joined: dict[str, str] = {}
    for name, value in pairs:
        joined[name] = f"{joined[name]}, {value}" if name in joined else value
    return joined
