"""The signed data-source registry of one gateway (see edgeward.sync.registry)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import sqlalchemy as sa

from edgeward.cloud.crypto.keys import SealedBox, Signer
from edgeward.cloud.datasources.sources import registry_entries
from edgeward.sync.registry import REGISTRY_FORMAT, REGISTRY_VERSION, encode_registry


@dataclass(frozen=True, slots=True)
class SignedRegistry:
    body: bytes  # canonical JSON: exactly what the signature covers
    signature: str  # base64 Ed25519
    etag: str


def signed_registry(
    connection: sa.Connection, box: SealedBox, signer: Signer, account_id: str, gateway_id: str
) -> SignedRegistry:
    body = encode_registry(
        {
            "format": REGISTRY_FORMAT,
            "version": REGISTRY_VERSION,
            "gateway_id": gateway_id,
            "sources": registry_entries(connection, box, account_id, gateway_id),
        }
    )
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return SignedRegistry(body, signer.sign_b64(body), etag)
