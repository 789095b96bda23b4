"""A signed registry in a gateway's data dir, for tests whose gateway never reaches a cloud.

The gateway admits nothing without a verified registry. These tests leave the
cloud away on purpose (every reading waits in the outbox, where they read it),
so the registry the cloud would have sent is made here: the same document
shape (edgeward.sync.registry), signed with an Ed25519 key made for the test,
whose public half is pinned in the data dir as the cloud's would be at first
contact. The gateway loads it at start exactly as it loads its last copy.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edgeward.gateway.admission.gate import AdmissionGate
from edgeward.gateway.admission.policy import Admission
from edgeward.gateway.admission.registry_pull import PUBLIC_KEY_FILE, REGISTRY_FILE
from edgeward.gateway.admission.store import AdmissionStore
from edgeward.gateway.outbox.store import NewReading
from edgeward.sync.registry import REGISTRY_FORMAT, REGISTRY_VERSION, encode_registry
from edgeward.sync.source_types.checks import validate_type_spec


def bound_source(
    name: str, transport: str, decoder: dict[str, Any], binding: dict[str, Any]
) -> dict[str, Any]:
    """A registry entry of an enabled ``bound`` source (the cloud's registry_entries shape)."""
    spec = validate_type_spec({"transport": transport, "auth_mode": "bound", "decoder": decoder})
    return {
        "name": name,
        "enabled": True,
        "binding": binding,
        "type": {"id": f"dst-{name}", **spec},
        "key": None,
        "public_key": None,
    }


def write_signed_registry(
    data_dir: Path,
    gateway_id: str,
    sources: list[dict[str, Any]],
    signer: Ed25519PrivateKey | None = None,
) -> None:
    """``signer``: the cloud's key; the same one again replaces a registry a running
    gateway already verified (a new one is made when None)."""
    signer = signer or Ed25519PrivateKey.generate()
    public = signer.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    body = encode_registry(
        {
            "format": REGISTRY_FORMAT,
            "version": REGISTRY_VERSION,
            "gateway_id": gateway_id,
            "sources": sources,
        }
    )
    saved = {
        "body": body.decode(),
        "signature": base64.b64encode(signer.sign(body)).decode(),
        "etag": '"' + hashlib.sha256(body).hexdigest()[:32] + '"',
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / PUBLIC_KEY_FILE).write_text(base64.b64encode(public).decode() + "\n")
    registry = data_dir / REGISTRY_FILE
    registry.write_text(json.dumps(saved))
    registry.chmod(0o600)


def admission_gate(
    store_dir: Path, sources: list[dict[str, Any]]
) -> tuple[AdmissionGate, asyncio.Queue[NewReading]]:
    """The runtime's gate over ``sources`` (a verified registry's entries) and its queue."""
    queue: asyncio.Queue[NewReading] = asyncio.Queue()
    store = AdmissionStore(store_dir / "admission.db")
    admission = Admission({"sources": sources}, replay=store)
    return AdmissionGate(admission, store, queue), queue
