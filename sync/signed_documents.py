"""The gateway's side of signed documents (registry, settings): verify, keep.

The last verified document is kept on disk (mode 0600: a registry holds
device keys) so the gateway works offline and after a restart without the
cloud. A document that fails verification is never used and never replaces
the last good one.

The cloud client (:mod:`edgeward.sync.client`) asks for a document
(``If-None-Match``: an unchanged one costs a 304) and verifies the answer
with :meth:`SignedStore.verified`; it never saves. The caller saves once it
has checked what it needs (the gateway parses settings with its config
parser first), so a refused document never becomes the last good one.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from edgeward.sync.errors import SyncError
from edgeward.sync.registry import verify_registry

log = logging.getLogger(__name__)

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

    def verified(self, body: bytes, signature_header: str, etag: str) -> Signed[T]:
        """The document in a cloud answer (body, ``Edgeward-Signature`` value), verified.

        Raises the verifier's :class:`SyncError` for a bad signature or content.
        """
        signature = signature_header.removeprefix("ed25519=")
        return Signed(self.verify(body, signature, self.public_key_b64), body, signature, etag)

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
