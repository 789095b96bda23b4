"""The gateway's side of the registry: pull it, verify the cloud's signature, keep it.

The last verified registry is kept on disk (mode 0600: it holds device keys)
so the gateway admits readings offline and after a restart without the
cloud. A registry that fails verification is never used and never replaces
the last good one; ``If-None-Match`` makes an unchanged registry cost a 304.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
from pathlib import Path
from typing import Any

import httpx

from edgeward.sync.errors import UplinkRejected, UplinkUnavailable
from edgeward.sync.registry import SIGNATURE_HEADER, SpecError, verify_registry

log = logging.getLogger(__name__)

REGISTRY_PATH = "/v1/registry"
PUBLIC_KEY_PATH = "/v1/registry/public-key"


class RegistryStore:
    """The last verified registry on disk: body and signature, re-verified on load."""

    def __init__(self, path: Path, public_key_b64: str) -> None:
        self.path = path
        self.public_key_b64 = public_key_b64

    def load(self) -> tuple[dict[str, Any], str] | None:
        """(registry, etag) from disk if present and still verifying, else None."""
        try:
            saved = json.loads(self.path.read_text())
            registry = verify_registry(
                saved["body"].encode(), saved["signature"], self.public_key_b64
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, SpecError) as exc:
            log.error("ignoring the saved registry %s: %s", self.path, exc)
            return None
        return registry, str(saved.get("etag", ""))

    def save(self, body: bytes, signature: str, etag: str) -> None:
        temporary = self.path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump({"body": body.decode(), "signature": signature, "etag": etag}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)


async def pull(
    client: httpx.AsyncClient, store: RegistryStore, etag: str | None
) -> tuple[dict[str, Any], str] | None:
    """A newer verified registry (saved to ``store``), or None if unchanged.

    Raises :class:`UplinkUnavailable` when the cloud can't be asked now and
    :class:`UplinkRejected` when it refuses; a bad signature is a
    :class:`~edgeward.sync.registry.SpecError` and leaves ``store`` untouched.
    """
    headers = {"If-None-Match": etag} if etag else {}
    try:
        response = await client.get(REGISTRY_PATH, headers=headers)
    except httpx.HTTPError as exc:
        raise UplinkUnavailable(f"cloud unreachable: {exc!r}") from exc
    if response.status_code == 304:
        return None
    if response.status_code == 429 or response.status_code >= 500:
        raise UplinkUnavailable(f"cloud answered {response.status_code}")
    if response.status_code >= 400:
        raise UplinkRejected(response.status_code, "registry", response.text[:200])
    signature = response.headers.get(SIGNATURE_HEADER, "").removeprefix("ed25519=")
    registry = verify_registry(response.content, signature, store.public_key_b64)
    new_etag = response.headers.get("ETag", "")
    store.save(response.content, signature, new_etag)
    return registry, new_etag


async def fetch_public_key(client: httpx.AsyncClient) -> str:
    """The cloud's Ed25519 registry key (base64), checked for shape before anyone pins it."""
    try:
        response = await client.get(PUBLIC_KEY_PATH)
    except httpx.HTTPError as exc:
        raise UplinkUnavailable(f"cloud unreachable: {exc!r}") from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise UplinkUnavailable(f"cloud answered {response.status_code}")
    if response.status_code >= 400:
        raise UplinkRejected(response.status_code, "registry_public_key", response.text[:200])
    try:
        document = response.json()
        key = str(document["public_key"])
        raw = base64.b64decode(key, validate=True)
        if document.get("algorithm") != "ed25519" or len(raw) != 32:
            raise ValueError(key)
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise UplinkUnavailable("the cloud sent no usable Ed25519 public key") from exc
    return key
