"""The gateway's side of signed documents (registry, settings): pull, verify, keep.

The last verified document is kept on disk (mode 0600: a registry holds
device keys) so the gateway works offline and after a restart without the
cloud. A document that fails verification is never used and never replaces
the last good one; ``If-None-Match`` makes an unchanged document cost a 304.

:func:`fetch` only verifies; a caller that checks more before trusting a
document (the gateway parses settings with its config parser) saves it
afterwards, so a refused document never becomes the last good one.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import httpx

from edgeward.sync.errors import SyncError, UplinkRejected, UplinkUnavailable
from edgeward.sync.registry import SIGNATURE_HEADER, verify_registry

log = logging.getLogger(__name__)

REGISTRY_PATH = "/v1/registry"
PUBLIC_KEY_PATH = "/v1/registry/public-key"
T = TypeVar("T")
# (body, signature, cloud public key) -> the verified document, or a SyncError.
Verify = Callable[[bytes, str, str], T]


@dataclass(frozen=True, slots=True)
class Signed(Generic[T]):
    """A verified document with the bytes and signature it was verified from."""

    document: T
    body: bytes
    signature: str
    etag: str


class SignedStore(Generic[T]):
    """The last verified document on disk: body and signature, re-verified on load."""

    def __init__(self, path: Path, public_key_b64: str, verify: Verify[T]) -> None:
        self.path = path
        self.public_key_b64 = public_key_b64
        self.verify = verify

    def load(self) -> Signed[T] | None:
        """The saved document if present and still verifying, else None."""
        try:
            saved = json.loads(self.path.read_text())
            body, signature = saved["body"].encode(), saved["signature"]
            document = self.verify(body, signature, self.public_key_b64)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError, SyncError) as exc:
            log.error("ignoring the saved document %s: %s", self.path, exc)
            return None
        return Signed(document, body, signature, str(saved.get("etag", "")))

    def save(self, signed: Signed[T]) -> None:
        """Replace the saved document whole: temp file (0600), fsync, rename."""
        temporary = self.path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(
                {"body": signed.body.decode(), "signature": signed.signature, "etag": signed.etag},
                handle,
            )
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)


class RegistryStore(SignedStore[dict[str, Any]]):
    """The last verified data-source registry."""

    def __init__(self, path: Path, public_key_b64: str) -> None:
        super().__init__(path, public_key_b64, verify_registry)


async def fetch(
    client: httpx.AsyncClient, path: str, store: SignedStore[T], etag: str | None
) -> Signed[T] | None:
    """A newer document at ``path``, verified with ``store``'s rules, or None if unchanged.

    Raises :class:`UplinkUnavailable` when the cloud can't be asked now,
    :class:`UplinkRejected` when it refuses, and the verifier's
    :class:`~edgeward.sync.errors.SyncError` for a bad signature or content.
    """
    headers = {"If-None-Match": etag} if etag else {}
    try:
        response = await client.get(path, headers=headers)
    except httpx.HTTPError as exc:
        raise UplinkUnavailable(f"cloud unreachable: {exc!r}") from exc
    if response.status_code == 304:
        return None
    if response.status_code == 429 or response.status_code >= 500:
        raise UplinkUnavailable(f"cloud answered {response.status_code}")
    if response.status_code >= 400:
        raise UplinkRejected(response.status_code, path, response.text[:200])
    signature = response.headers.get(SIGNATURE_HEADER, "").removeprefix("ed25519=")
    document = store.verify(response.content, signature, store.public_key_b64)
    return Signed(document, response.content, signature, response.headers.get("ETag", ""))


async def pull(
    client: httpx.AsyncClient, store: RegistryStore, etag: str | None
) -> tuple[dict[str, Any], str] | None:
    """A newer verified registry (saved to ``store``), or None if unchanged."""
    signed = await fetch(client, REGISTRY_PATH, store, etag)
    if signed is None:
        return None
    store.save(signed)
    return signed.document, signed.etag


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
