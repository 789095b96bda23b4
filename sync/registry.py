"""The data-source registry contract: the signed registry a gateway pulls.

Each entry is a source with its data-source type (the language of
:mod:`edgeward.sync.source_types`: how its devices are read, how its
reports decode, what each field means) and how the source proves who it is
(its type's auth mode):

- ``bound``: a device that can't sign is identified by where the installer
  registered it (gateway, bus or port, unit id or address);
- ``hmac``: HMAC-SHA256 (RFC 2104) over the report with the source's key;
- ``ed25519``: an Ed25519 signature (RFC 8032) with the source's key pair;
- ``sealed``: AES-GCM with the source's key, opened by the gateway or only
  by the cloud (``sealed_for``; the envelopes are in :mod:`edgeward.sync.reports`).
  The cloud decodes what only it opens by the type too, so a
  ``sealed_for: cloud`` type is MQTT, serial, or BLE with one characteristic
  (the cloud can't tell which characteristic a sealed report came from).

A registry entry carries what the gateway needs to admit the source: ``key``
(base64, the source key, for ``hmac`` and ``sealed_for: gateway``),
``auth_key`` (base64, for ``sealed_for: cloud``: the HKDF-derived
authentication key alone, which proves the sender and opens nothing) or
``public_key`` (``ed25519``).

The cloud validates types when an account creates one; the gateway builds
its drivers and decoders from the same types. Both sides import this module
and nothing of each other.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edgeward.sync.errors import SpecError

REGISTRY_FORMAT = "edgeward.registry"
# 2: types in the type language (edgeward.sync.source_types); a gateway that reads
# only 1 keeps the registry it has rather than misreading a newer one.
REGISTRY_VERSION = 2
SIGNATURE_HEADER = "Edgeward-Signature"
REGISTRY_PATH = "/v1/registry"
PUBLIC_KEY_PATH = "/v1/registry/public-key"


def canonical_json(document: Mapping[str, Any]) -> bytes:
    """Canonical bytes of a signed document (registry, settings): what a signature covers."""
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def encode_registry(document: Mapping[str, Any]) -> bytes:
    """Canonical bytes of a registry: what the signature covers."""
    return canonical_json(document)


def verify_signature(body: bytes, signature_b64: str, public_key_b64: str, what: str) -> None:
    """Raise unless ``signature_b64`` is the cloud's Ed25519 signature over ``body``."""
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64, validate=True))
        key.verify(base64.b64decode(signature_b64, validate=True), body)
    except (InvalidSignature, ValueError, binascii.Error) as exc:
        raise SpecError("signature", f"the {what} is not signed by the cloud") from exc


def verify_registry(body: bytes, signature_b64: str, public_key_b64: str) -> dict[str, Any]:
    """The registry document if the cloud's Ed25519 signature over ``body`` holds."""
    verify_signature(body, signature_b64, public_key_b64, "registry")
    document = json.loads(body)
    if document.get("format") != REGISTRY_FORMAT or document.get("version") != REGISTRY_VERSION:
        raise SpecError("format", f"expected {REGISTRY_FORMAT} version {REGISTRY_VERSION}")
    return dict(document)
