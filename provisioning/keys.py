"""The gateway's two key pairs: its Ed25519 identity (RFC 8032) and its WireGuard key.

The WireGuard key is an X25519 key (RFC 7748) made with ``cryptography``
rather than ``wg genkey``/``wg pubkey``: the same 32 random bytes in the same
base64 form (WireGuard clamps the scalar itself, and so does X25519 when it
derives the public key, so ``wg pubkey`` agrees, which a test checks), but
without a child process, without the private key passing through a pipe, and
before wireguard-tools are even installed (``--no-tunnel``).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@dataclass(frozen=True, slots=True)
class GatewayKeys:
    identity_private: str  # base64 of the 32-byte Ed25519 seed
    wireguard_private: str  # base64 of the 32-byte X25519 scalar, as `wg genkey` prints it

    def __repr__(self) -> str:  # keys never reach a log line
        return f"GatewayKeys(identity={self.identity_public}, wireguard={self.wireguard_public})"

    @classmethod
    def generate(cls) -> GatewayKeys:
        identity = Ed25519PrivateKey.generate().private_bytes_raw()
        wireguard = X25519PrivateKey.generate().private_bytes_raw()
        return cls(_b64(identity), _b64(wireguard))

    @property
    def identity_key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(base64.b64decode(self.identity_private))

    @property
    def identity_public(self) -> str:
        return _b64(self.identity_key.public_key().public_bytes_raw())

    @property
    def wireguard_public(self) -> str:
        key = X25519PrivateKey.from_private_bytes(base64.b64decode(self.wireguard_private))
        return _b64(key.public_key().public_bytes_raw())
