"""Signed and sealed device reports: the envelope a capable device wraps its payload in.

A device that can sign or encrypt sends, instead of its bare payload, a JSON
envelope carrying a counter that never repeats (a sequence number or a
timestamp in microseconds) so replays are refused:

- ``hmac``: ``{"counter": n, "payload": b64, "mac": b64}``, where ``mac`` is
  HMAC-SHA256 (RFC 2104) under the source key over ``context``;
- ``ed25519``: ``{"counter": n, "payload": b64, "signature": b64}``, an
  Ed25519 signature (RFC 8032) over ``context``;
- ``sealed``: ``{"counter": n, "nonce": b64, "ciphertext": b64}``, AES-256-GCM
  (NIST SP 800-38D) under the source key with ``context`` as associated data.

``context`` binds the report to its source and counter:
``b"edgeward-report/v1\\0" + source + b"\\0" + counter (8 bytes, big-endian)``
(+ the payload, for the two signature modes). A report signed for one source
does not verify for another, and changing the counter breaks it.

Both the gateway (admission) and the cloud (sealed-for-cloud reports) open
envelopes, so the format lives in the shared contract.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from edgeward.sync.errors import SyncError

MAX_COUNTER = 2**63 - 1
MAX_ENVELOPE_BYTES = 64 * 1024


class ReportRejected(SyncError):
    """A report that must not be admitted; ``reason`` is its security-event reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class OpenedReport:
    counter: int
    payload: bytes


def context(source: str, counter: int) -> bytes:
    return b"edgeward-report/v1\0" + source.encode() + b"\0" + counter.to_bytes(8, "big")


def _b64(document: dict[str, Any], key: str) -> bytes:
    value = document.get(key)
    if not isinstance(value, str):
        raise ReportRejected("malformed", f"the envelope has no {key!r}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ReportRejected("malformed", f"{key!r} is not base64") from exc


def _envelope(raw: bytes) -> tuple[dict[str, Any], int]:
    if len(raw) > MAX_ENVELOPE_BYTES:
        raise ReportRejected("oversized", f"a report is at most {MAX_ENVELOPE_BYTES} bytes")
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ReportRejected("malformed", "the envelope is not JSON") from exc
    if not isinstance(document, dict):
        raise ReportRejected("malformed", "the envelope is not a JSON object")
    counter = document.get("counter")
    if not isinstance(counter, int) or isinstance(counter, bool) or not 0 < counter <= MAX_COUNTER:
        raise ReportRejected("malformed", "the envelope needs a positive 63-bit counter")
    return document, counter


def open_hmac(raw: bytes, source: str, key: bytes) -> OpenedReport:
    document, counter = _envelope(raw)
    payload, mac = _b64(document, "payload"), _b64(document, "mac")
    expected = hmac.new(key, context(source, counter) + payload, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, mac):
        raise ReportRejected("bad-signature", "the HMAC does not match the source's key")
    return OpenedReport(counter, payload)


def open_ed25519(raw: bytes, source: str, public_key_b64: str) -> OpenedReport:
    document, counter = _envelope(raw)
    payload, signature = _b64(document, "payload"), _b64(document, "signature")
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
        key.verify(signature, context(source, counter) + payload)
    except (InvalidSignature, ValueError) as exc:
        raise ReportRejected("bad-signature", "the signature does not verify") from exc
    return OpenedReport(counter, payload)


def open_sealed(raw: bytes, source: str, key: bytes) -> OpenedReport:
    document, counter = _envelope(raw)
    nonce, ciphertext = _b64(document, "nonce"), _b64(document, "ciphertext")
    if len(nonce) != 12:
        raise ReportRejected("malformed", "the nonce is 12 bytes")
    try:
        payload = AESGCM(key).decrypt(nonce, ciphertext, context(source, counter))
    except InvalidTag as exc:
        raise ReportRejected("bad-signature", "the sealed report does not open") from exc
    return OpenedReport(counter, payload)


# What a device does: used by the simulators and the tests.


def _wrap(counter: int, **fields: bytes) -> bytes:
    document: dict[str, Any] = {"counter": counter}
    document.update({name: base64.b64encode(value).decode() for name, value in fields.items()})
    return json.dumps(document, separators=(",", ":")).encode()


def sign_hmac(payload: bytes, source: str, counter: int, key: bytes) -> bytes:
    mac = hmac.new(key, context(source, counter) + payload, hashlib.sha256).digest()
    return _wrap(counter, payload=payload, mac=mac)


def sign_ed25519(payload: bytes, source: str, counter: int, key: Ed25519PrivateKey) -> bytes:
    return _wrap(counter, payload=payload, signature=key.sign(context(source, counter) + payload))


def seal(payload: bytes, source: str, counter: int, key: bytes, nonce: bytes) -> bytes:
    ciphertext = AESGCM(key).encrypt(nonce, payload, context(source, counter))
    return _wrap(counter, nonce=nonce, ciphertext=ciphertext)
