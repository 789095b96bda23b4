"""The installer's calls to the cloud: enrollment, key rotation, data sources, health.

Every call the installer's commands make to the cloud is here, and only
here does provisioning import httpx. Errors are translated here: a refused
claim code says which refusal (the cloud's error code ``claim_code_<reason>``),
an unreachable cloud says what was tried and what to check.

Why not the running gateway's :class:`~edgeward.sync.client.CloudClient`:
that client is asynchronous, one connection pool per runtime, authenticated
by the gateway credential. The installer works before that credential
exists (enrollment proves itself with the identity key) or with a person's
token (``devices add``), makes one blocking call at a time at a terminal,
to the URL the installer typed (over the underlay, then the new tunnel),
and must tell apart what the gateway's client deliberately folds into
"unavailable, retry later": whether an enrollment may have reached the
cloud (no connection made, so the interrupted run's intent can be
forgotten) or may have been answered.
Sharing the client would mean an event loop per call and installer-only
facts in the sync error tree, for no request in common.
"""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from edgeward.provisioning.errors import (
    ClaimCodeRefused,
    CloudRefused,
    CloudUnreachable,
    UsageError,
)
from edgeward.provisioning.keys import GatewayKeys
from edgeward.sync.enrollment import (
    ENROLL_PATH,
    KEY_ROTATION_PATH,
    SealedCredentialError,
    enrollment_message,
    open_credential,
    rotation_message,
    sign,
)

TIMEOUT_S = 15.0
HEALTH_TIMEOUT_S = 3.0
DATA_SOURCES_PATH = "/v1/data-sources"
TYPES_PATH = "/v1/data-source-types"
CLAIM_PREFIX = "claim_code_"
CLAIM_HINTS = {
    "typo": "check the code as printed; the last symbol is a checksum",
    "unknown": "check the code with whoever issued it (and that --cloud is the right cloud)",
    "expired": "ask for a new claim code",
    "revoked": "ask for a new claim code; this one was withdrawn",
    "used": "each code enrolls one gateway; ask for a new one, or re-provision this gateway",
}


def _post(url: str, path: str, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.post(url.rstrip("/") + path, json=body, headers=headers, timeout=TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise unreachable(url, exc) from exc
    try:
        document = response.json()
    except ValueError:
        document = {}
    if response.is_success:
        return dict(document)
    error = document.get("error", {}) if isinstance(document, dict) else {}
    code, message = error.get("code", "http_error"), error.get("message", response.text[:200])
    if code.startswith(CLAIM_PREFIX):
        reason = code.removeprefix(CLAIM_PREFIX)
        raise ClaimCodeRefused(
            reason, f"claim code {reason}: {message}", hint=CLAIM_HINTS.get(reason)
        )
    raise CloudRefused(f"the cloud refused ({response.status_code} {code}): {message}")


def unreachable(url: str, exc: Exception) -> CloudUnreachable:
    parts = urlsplit(url)
    host, port = parts.hostname or "?", parts.port or (443 if parts.scheme == "https" else 80)
    try:
        address = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)[0][4][0]
        resolved = f"{host} resolves to {address}"
    except OSError:
        resolved = f"{host} does not resolve (check DNS or use an IP address)"
    return CloudUnreachable(
        f"cannot reach the cloud at {url} ({type(exc).__name__}: {exc}); {resolved}",
        hint=f"check the URL, the gateway's network link and route, and that "
        f"TCP port {port} is open from here to {host}",
        may_have_arrived=not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout),
    )


def enroll(url: str, code: str, keys: GatewayKeys, name: str | None) -> dict[str, Any]:
    body = {
        "claim_code": code,
        "identity_public_key": keys.identity_public,
        "wireguard_public_key": keys.wireguard_public,
        # Proof of possession, required by the cloud; it also lets the cloud answer
        # again after an interrupted run. ``code`` is normalized already.
        "signature": sign(
            keys.identity_key,
            enrollment_message(code, keys.identity_public, keys.wireguard_public),
        ),
    }
    if name:
        body["name"] = name
    answer = _post(url, ENROLL_PATH, body)
    try:
        answer["credential"] = open_credential(
            str(answer.pop("sealed_credential")), keys.wireguard_private
        )
    except (KeyError, SealedCredentialError) as exc:
        raise CloudRefused(
            f"the enrollment answer carries no credential sealed to this gateway ({exc})"
        ) from exc
    return answer


def rotate(url: str, credential: str, gateway_id: str, old: GatewayKeys, new: GatewayKeys) -> None:
    message = rotation_message(gateway_id, new.identity_public, new.wireguard_public)
    body = {
        "identity_public_key": new.identity_public,
        "wireguard_public_key": new.wireguard_public,
        "signature": sign(old.identity_key, message),
        "new_signature": sign(new.identity_key, message),
    }
    _post(url, KEY_ROTATION_PATH, body, token=credential)


def register_source(url: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/data-sources`` with the installer's token: the source the cloud created."""
    headers = {"Authorization": f"Bearer {token}"}
    try:
        response = httpx.post(
            url.rstrip("/") + DATA_SOURCES_PATH, json=body, headers=headers, timeout=TIMEOUT_S
        )
    except httpx.HTTPError as exc:
        raise unreachable(url, exc) from exc
    if not response.is_success:
        error = response.json().get("error", {}) if response.content else {}
        raise CloudRefused(
            f"the cloud refused ({response.status_code} {error.get('code')}): "
            f"{error.get('message')}" + (f" [{error['field']}]" if error.get("field") else "")
        )
    return dict(response.json())


def fetch_type(url: str, token: str, type_id: str) -> dict[str, Any]:
    """``GET /v1/data-source-types/{id}`` with the installer's token: the type as the API
    describes it (its spec's keys beside id and name); an unknown id is a usage error."""
    headers = {"Authorization": f"Bearer {token}"}
    try:
        response = httpx.get(
            f"{url.rstrip('/')}{TYPES_PATH}/{quote(type_id, safe='')}",
            headers=headers,
            timeout=TIMEOUT_S,
        )
    except httpx.HTTPError as exc:
        raise unreachable(url, exc) from exc
    if response.status_code == 404:
        raise UsageError(
            f"--type {type_id}: no such data-source type in this account",
            hint="GET /v1/data-source-types lists them; built-in ones are named builtin:...",
        )
    if not response.is_success:
        error = response.json().get("error", {}) if response.content else {}
        raise CloudRefused(
            f"the cloud refused to show type {type_id} ({response.status_code} "
            f"{error.get('code')}): {error.get('message')}"
        )
    return dict(response.json())


def health(url: str) -> str | None:
    """None once ``url``/healthz answers 200; else what came back, for the installer."""
    try:
        response = httpx.get(url.rstrip("/") + "/healthz", timeout=HEALTH_TIMEOUT_S)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None if response.status_code == 200 else f"HTTP {response.status_code}"
