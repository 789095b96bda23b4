"""The OAuth 2 client side of a connection, built on authlib's RFC modules.

- Authorization request: RFC 6749 section 4.1.1 (``authlib.oauth2.rfc6749.parameters``),
  with PKCE S256 (RFC 7636 section 4.2) where the vendor supports it.
- Token request and client authentication: RFC 6749 sections 4.1.3 and 2.3.1
  (``authlib.oauth2.auth.ClientAuth``: ``client_secret_basic`` or ``_post``).
- Refresh: RFC 6749 section 6. The vendor MAY send a new refresh token; when
  it sends none, the old one stays.
- Facebook's long-lived token exchange (``grant_type=fb_exchange_token``).

Every call to a vendor goes through the SSRF guard (``egress.pinned_sync``)
and never follows redirects. Failures are :class:`VendorError`, transient
(timeouts, 5xx, unreachable: try again later) or not (the vendor refused:
``invalid_grant`` and other 4xx). Messages name the vendor host and the
OAuth error code, never a token.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from edgeward.cloud.egress import guard as egress
from edgeward.cloud.egress.guard import EgressPolicy


class VendorError(Exception):
    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient


def authorize_url(
    settings: dict[str, Any],
    client_id: str,
    state: str,
    redirect_uri: str,
    scopes: list[str],
    code_verifier: str | None,
) -> str:
    extra: dict[str, str] = dict(settings["extra_authorize_params"] or {})
    if code_verifier is not None:
        extra.update(
            code_challenge=create_s256_code_challenge(code_verifier), code_challenge_method="S256"
        )
    scope = settings["scope_separator"].join(scopes) or None
    return str(
        prepare_grant_uri(
            settings["authorize_url"],
            client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=scope,
            state=state,
            **extra,
        )
    )


def exchange_code(
    settings: dict[str, Any],
    client: tuple[str, str],
    code: str,
    code_verifier: str | None,
    redirect_uri: str,
    policy: EgressPolicy,
    timeout: float,
) -> dict[str, Any]:
    extra = {"code_verifier": code_verifier} if code_verifier else {}
    body = prepare_token_request(
        "authorization_code", code=code, redirect_uri=redirect_uri, **extra
    )
    token = _token_request(settings, client, body, policy, timeout)
    if settings["long_lived_exchange"]:
        token = _long_lived(settings, client, token, policy, timeout)
    return token


def refresh(
    settings: dict[str, Any],
    client: tuple[str, str],
    refresh_token: str,
    policy: EgressPolicy,
    timeout: float,
) -> dict[str, Any]:
    body = prepare_token_request("refresh_token", refresh_token=refresh_token)
    token = _token_request(settings, client, body, policy, timeout)
    token.setdefault("refresh_token", refresh_token)  # RFC 6749 section 6: MAY issue a new one
    return token


def _token_request(
    settings: dict[str, Any],
    client: tuple[str, str],
    body: str,
    policy: EgressPolicy,
    timeout: float,
) -> dict[str, Any]:
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    auth = ClientAuth(client[0], client[1], settings["client_auth"])
    uri, headers, body = auth.prepare("POST", settings["token_url"], headers, body)
    return _call("POST", uri, headers, body.encode(), policy, timeout)


def _long_lived(
    settings: dict[str, Any],
    client: tuple[str, str],
    token: dict[str, Any],
    policy: EgressPolicy,
    timeout: float,
) -> dict[str, Any]:
    """Facebook: a short-lived user token traded for a long-lived one (no refresh token)."""
    query = urlencode(
        {
            "grant_type": "fb_exchange_token",
            "client_id": client[0],
            "client_secret": client[1],
            "fb_exchange_token": token["access_token"],
        }
    )
    url = f"{settings['token_url']}?{query}"
    return {**token, **_call("GET", url, {"Accept": "application/json"}, b"", policy, timeout)}


def vendor_request(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    policy: EgressPolicy,
    timeout: float,
) -> httpx.Response:
    """One call to a vendor's endpoint through the SSRF guard, redirects not followed."""
    host = urlsplit(url).hostname or "the vendor"
    try:
        pinned_url, extensions = egress.pinned_sync(url, headers, policy)
    except egress.DestinationRefused as exc:
        raise VendorError(str(exc), transient=False) from None
    try:
        with httpx.Client(timeout=timeout, trust_env=False, follow_redirects=False) as http:
            return http.request(
                method, pinned_url, headers=headers, content=body or None, extensions=extensions
            )
    except httpx.TimeoutException:
        raise VendorError(f"{host} did not answer in time", transient=True) from None
    except httpx.HTTPError as exc:
        raise VendorError(f"{host}: {exc.__class__.__name__}", transient=True) from None


def _call(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    policy: EgressPolicy,
    timeout: float,
) -> dict[str, Any]:
    host = urlsplit(url).hostname or "the vendor"
    response = vendor_request(method, url, headers, body, policy, timeout)
    try:
        document = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        document = None
    if not isinstance(document, dict):
        raise VendorError(
            f"{host} answered {response.status_code} with a page that is not a JSON object",
            transient=response.status_code >= 500,
        )
    if response.status_code != 200 or "error" in document:
        code = str(document.get("error", "error"))[:64]
        raise VendorError(
            f"{host} refused: {code} ({response.status_code})",
            transient=response.status_code >= 500,
        )
    if not isinstance(document.get("access_token"), str):
        raise VendorError(f"{host} answered without an access_token", transient=False)
    return document
