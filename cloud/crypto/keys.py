"""The cloud's own keys, each in a file of the data directory, mode 0600.

- ``master.key``: 32 random bytes, the AES-256-GCM key (NIST SP 800-38D) that
  seals device keys at rest (:class:`SealedBox`).
- ``signing.key``: an Ed25519 private key (RFC 8032) that signs what the
  cloud hands to gateways (the data-source registry), so a gateway trusts
  the registry even if something between them is not the cloud.

Every API worker must read the same files (mount them from one secret at
scale); ``EDGEWARD_CLOUD_MASTER_KEY_FILE`` and ``EDGEWARD_CLOUD_SIGNING_KEY_FILE``
point elsewhere.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from edgeward.cloud.errors import ConfigurationError

NONCE_BYTES = 12


def _create_once(path: Path, content: bytes) -> None:
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another worker made it first
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)


def _key_file(data_dir: Path, name: str, variable: str, make: bytes) -> bytes:
    path = Path(os.environ.get(variable, data_dir / name))
    if not path.exists():
        _create_once(path, make)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"key file {path}: cannot read: {exc.strerror}") from exc


class SealedBox:
    """AES-256-GCM with a random 96-bit nonce per message; the nonce leads the blob.

    ``context`` (e.g. the data source id) is authenticated as associated data,
    so a sealed key copied onto another row does not open there.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ConfigurationError(f"master key: expected 32 bytes, found {len(key)}")
        self._aead = AESGCM(key)

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> SealedBox:
        return cls(
            _key_file(
                data_dir, "master.key", "EDGEWARD_CLOUD_MASTER_KEY_FILE", secrets.token_bytes(32)
            )
        )

    def seal(self, plaintext: bytes, context: str) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, context.encode())

    def open(self, blob: bytes, context: str) -> bytes:
        try:
            return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], context.encode())
        except InvalidTag as exc:
            raise ConfigurationError(f"a sealed value for {context!r} does not open") from exc


class Signer:
    """Ed25519 signatures (RFC 8032) over documents the cloud hands out."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.public_key_b64 = base64.b64encode(raw).decode()

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> Signer:
        fresh = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        raw = _key_file(data_dir, "signing.key", "EDGEWARD_CLOUD_SIGNING_KEY_FILE", fresh)
        if len(raw) != 32:
            raise ConfigurationError(f"signing key: expected 32 raw bytes, found {len(raw)}")
        return cls(Ed25519PrivateKey.from_private_bytes(raw))

    def sign_b64(self, document: bytes) -> str:
        return base64.b64encode(self._key.sign(document)).decode()
