"""The OAuth 1.0a client side of a connection (RFC 5849), for vendors like Evernote.

Temporary credentials (section 2.1) are asked for with the cloud's callback
URL, which carries the connection's ``state``; the user authorizes at the
vendor (section 2.2), which sends the browser back with ``oauth_token`` and
``oauth_verifier``; those are exchanged for token credentials (section 2.3).
Every request, and every proxied call later, is signed HMAC-SHA1 (section
3.4.2) in the Authorization header by ``authlib.oauth1.rfc5849.ClientAuth``.
Token credentials do not expire, so there is nothing to refresh.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from authlib.oauth1.rfc5849.client_auth import ClientAuth

from edgeward.cloud.connections.oauth2 import VendorError, vendor_request
from edgeward.cloud.egress.guard import EgressPolicy

FORM = "application/x-www-form-urlencoded"


def sign(
    client: tuple[str, str],
    token: tuple[str, str] | None,
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    **extra: str,
) -> dict[str, str]:
    """``headers`` with the OAuth Authorization header for this request (body unchanged)."""
    auth = ClientAuth(
        client[0],
        client[1],
        token=token[0] if token else None,
        token_secret=token[1] if token else None,
        **extra,
    )
    form = FORM in headers.get("Content-Type", "")
    _, signed, _ = auth.prepare(method, url, dict(headers), body if form else b"")
    return {str(k): str(v) for k, v in signed.items()}


def _form_call(
    url: str, headers: dict[str, str], policy: EgressPolicy, timeout: float
) -> dict[str, str]:
    host = urlsplit(url).hostname or "the vendor"
    response = vendor_request("POST", url, headers, b"", policy, timeout)
    fields = dict(parse_qsl(response.text)) if response.status_code == 200 else {}
    if "oauth_token" not in fields or "oauth_token_secret" not in fields:
        raise VendorError(
            f"{host} refused ({response.status_code}) or answered without oauth_token",
            transient=response.status_code >= 500,
        )
    return fields


def request_token(
    settings: dict[str, Any],
    client: tuple[str, str],
    callback: str,
    policy: EgressPolicy,
    timeout: float,
) -> tuple[str, str]:
    url = settings["request_token_url"]
    headers = sign(client, None, "POST", url, {}, b"", redirect_uri=callback)
    fields = _form_call(url, headers, policy, timeout)
    return fields["oauth_token"], fields["oauth_token_secret"]


def authorize_url(settings: dict[str, Any], request_token: str) -> str:
    separator = "&" if "?" in settings["authorize_url"] else "?"
    return f"{settings['authorize_url']}{separator}{urlencode({'oauth_token': request_token})}"


def access_token(
    settings: dict[str, Any],
    client: tuple[str, str],
    temporary: tuple[str, str],
    verifier: str,
    policy: EgressPolicy,
    timeout: float,
) -> dict[str, str]:
    url = settings["access_token_url"]
    headers = sign(client, temporary, "POST", url, {}, b"", verifier=verifier)
    fields = _form_call(url, headers, policy, timeout)
    return {
        "oauth_token": fields["oauth_token"],
        "oauth_token_secret": fields["oauth_token_secret"],
    }
