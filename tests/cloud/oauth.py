"""Helpers that drive the cloud's OAuth 2 and OAuth 1.0a over HTTP, as a client would.

The HMAC-SHA256 client signature is written here from RFC 5849 section 3.4.2
(with SHA-256), not borrowed from the cloud, so the tests check the server
against an independent signer; the base string is authlib's client's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
from authlib.integrations.httpx_client import OAuth1Auth
from authlib.integrations.httpx_client.utils import build_request
from authlib.oauth1.rfc5849.client_auth import ClientAuth
from authlib.oauth1.rfc5849.signature import generate_signature_base_string
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from edgeward.cloud.auth.credentials import keyed_hash
from edgeward.cloud.identity import grants as grant_maps
from edgeward.cloud.storage.schema import tokens
from edgeward.sync.clock import now_us
from tests.peers.cloud import Account, CloudServer

# Loopback, so http is allowed (RFC 8252 section 7.3); nothing listens, the
# tests read the redirect's Location instead of following it.
CALLBACK = "http://127.0.0.1:9/callback"


@dataclass(frozen=True)
class Client:
    id: str
    secret: str | None
    application_id: str


def grant_map(grants: tuple[str, ...] | list[str]) -> dict[str, list[str]]:
    return grant_maps.to_json(grant_maps.parse(list(grants)))


def register_client(
    cloud: CloudServer,
    account: Account,
    grants: tuple[str, ...] | list[str],
    *,
    public: bool = False,
    redirect_uris: tuple[str, ...] = (CALLBACK,),
) -> Client:
    """An application holding ``grants`` and an OAuth 2 client acting for it."""
    with cloud.client(account.owner_token) as owner:
        app = owner.post(
            "/v1/applications", json={"name": "oauth app", "grants": grant_map(grants)}
        ).raise_for_status()
        body = {
            "name": "Test client",
            "application_id": app.json()["id"],
            "redirect_uris": list(redirect_uris),
            "public": public,
        }
        created = owner.post("/v1/oauth-clients", json=body).raise_for_status().json()
    return Client(created["id"], created.get("client_secret"), app.json()["id"])


def pkce() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge), RFC 7636 section 4."""
    verifier = secrets.token_urlsafe(48)
    return verifier, create_s256_code_challenge(verifier)


def authorize_params(
    client: Client,
    scope: str,
    challenge: str | None = None,
    redirect_uri: str = CALLBACK,
    state: str = "st-1",
) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": client.id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
    }
    if challenge is not None:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    return params


def approve(cloud: CloudServer, user_token: str | None, params: dict[str, str], **form: str) -> Any:
    """Submit the consent page: signed in by header (``user_token``) or by ``credential``."""
    with cloud.client(user_token) as browser:
        return browser.post(
            "/oauth2/authorize", params=params, data={"decision": "approve", **form}
        )


def redirect_params(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(CALLBACK + "?"), location
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def token_request(cloud: CloudServer, client: Client, **form: str) -> httpx.Response:
    """POST /oauth2/token; a confidential client authenticates with HTTP Basic."""
    auth = None
    if client.secret is not None:
        auth = httpx.BasicAuth(quote(client.id, safe=""), quote(client.secret, safe=""))
    else:
        form.setdefault("client_id", client.id)
    with cloud.client() as http:
        return http.post("/oauth2/token", data=form, auth=auth)


def code_for(cloud: CloudServer, user_token: str, client: Client, scope: str) -> tuple[str, str]:
    """(code, verifier) after the user approves ``scope``."""
    verifier, challenge = pkce()
    response = approve(cloud, user_token, authorize_params(client, scope, challenge))
    return redirect_params(response)["code"], verifier


def exchange(cloud: CloudServer, client: Client, code: str, verifier: str) -> httpx.Response:
    return token_request(
        cloud,
        client,
        grant_type="authorization_code",
        code=code,
        redirect_uri=CALLBACK,
        code_verifier=verifier,
    )


_FULL_CLIENTS: dict[tuple[str, str], Client] = {}


def oauth2_access_token(cloud: CloudServer, account: Account, *grants: str) -> str:
    """An access token of ``account``'s owner for ``grants``, by the authorization code flow."""
    key = (cloud.url, account.id)
    if key not in _FULL_CLIENTS:
        everything = [
            f"{api}:{','.join(v)}" for api, v in grant_maps.to_json(grant_maps.ALL).items()
        ]
        _FULL_CLIENTS[key] = register_client(cloud, account, everything)
    client = _FULL_CLIENTS[key]
    scope = " ".join(f"{api}:{verb}" for api, verbs in grant_map(grants).items() for verb in verbs)
    code, verifier = code_for(cloud, account.owner_token, client, scope)
    return str(exchange(cloud, client, code, verifier).raise_for_status().json()["access_token"])


def expire_token(cloud: CloudServer, secret: str) -> None:
    """Move a bearer token's expiry into the past, straight in storage."""
    settings, database = cloud._open_storage()
    with database.engine.begin() as connection:
        connection.execute(
            tokens.update()
            .where(tokens.c.secret_hash == keyed_hash(settings.pepper, secret))
            .values(expires_us=now_us() - 1)
        )


def issue_oauth1(
    cloud: CloudServer, account: Account, *grants: str, application_grants: tuple[str, ...] = ()
) -> dict[str, Any]:
    """OAuth 1.0a credentials for a new application holding ``grants``."""
    with cloud.client(account.owner_token) as owner:
        app_grants = grant_map(list(grants) + list(application_grants))
        app = owner.post("/v1/applications", json={"name": "oauth1 app", "grants": app_grants})
        body = {
            "application_id": app.raise_for_status().json()["id"],
            "name": "signed",
            "grants": grant_map(grants),
        }
        return dict(owner.post("/v1/oauth1-credentials", json=body).raise_for_status().json())


def hmac_sha256(client: Any, request: Any) -> str:
    """RFC 5849 section 3.4.2 with SHA-256 over authlib's base string (section 3.4.1)."""
    key = f"{quote(client.client_secret, safe='~')}&{quote(client.token_secret, safe='~')}"
    text = generate_signature_base_string(request)
    digest = hmac.new(key.encode(), text.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class SignedAuth(OAuth1Auth):  # type: ignore[misc]
    """authlib's httpx signer, knowing HMAC-SHA256 as well as its own methods."""

    SIGNATURE_METHODS = {**ClientAuth.SIGNATURE_METHODS, "HMAC-SHA256": hmac_sha256}  # noqa: RUF012

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        """authlib's own, except that a JSON body is sent: authlib 1.x signs a
        non-form body as empty (right, RFC 5849 section 3.4.1.3.1) but then also
        sends it empty, which no JSON API survives."""
        url, headers, body = self.prepare(
            request.method, str(request.url), request.headers, request.content
        )
        if "application/x-www-form-urlencoded" not in headers.get("Content-Type", ""):
            body = request.content
        headers["Content-Length"] = str(len(body))
        yield build_request(url=url, headers=headers, body=body, initial_request=request)


def oauth1_client(
    cloud: CloudServer, credentials: dict[str, Any], method: str = "HMAC-SHA256"
) -> httpx.Client:
    auth = SignedAuth(
        client_id=credentials["consumer_key"],
        client_secret=credentials["consumer_secret"],
        token=credentials["token"],
        token_secret=credentials["token_secret"],
        signature_method=method,
    )
    return httpx.Client(base_url=cloud.url, auth=auth, timeout=10)
