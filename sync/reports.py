"""Signed and sealed device reports: the envelope a capable device wraps its payload in.

A device that can sign or encrypt sends, instead of its bare payload, a JSON
envelope carrying a counter that never repeats (a sequence number or a
timestamp in microseconds) so replays are refused:

- ``hmac``: ``{"counter": n, "payload": b64, "mac": b64}``, where ``mac`` is
  HMAC-SHA256 (RFC 2104) under the source key over ``context``;
- ``ed25519``: ``{"counter": n, "payload": b64, "signature": b64}``, an
  Ed25519 signature (RFC 8032) over ``context``;
- ``sealed`` for the gateway: ``{"counter": n, "nonce": b64, "ciphertext": b64}``,
  AES-256-GCM (NIST SP 800-38D) under the source key with ``context`` as
  associated data;
- ``sealed`` for the cloud: ``{"counter": n, "nonce": b64, "ciphertext": b64,
  "tag": b64}``. Two keys are derived from the source key with HKDF-SHA256
  (RFC 5869; salt ``edgeward-report/v1 sealed-for-cloud``, info
  ``encryption`` or ``authentication``, 32 bytes each). ``ciphertext`` is
  AES-256-GCM under the encryption key with ``context`` as associated data;
  ``tag`` is HMAC-SHA256 (RFC 2104) under the authentication key over
  ``context + nonce + ciphertext``. The gateway holds only the authentication
  key: it proves the sender and the counter, and cannot read the payload
  (HKDF's outputs are independent, so one key says nothing of the other).
  The cloud holds the source key, checks the tag and opens the ciphertext.

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
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from edgeward.sync.errors import SyncError

MAX_COUNTER = 2**63 - 1
MAX_ENVELOPE_BYTES = 64 * 1024
NONCE_BYTES = 12
CLOUD_SEAL_SALT = b"edgeward-report/v1 sealed-for-cloud"


# A refused value is shown (log, status, security events) at most this long: a
# device's garbage must not fill a log line, and a report is never shown whole.
MAX_RENDERED_VALUE = 40


def render_value(value: object) -> str:
    """A short, bounded rendering of a refused value (bytes as hex)."""
    text = value.hex() if isinstance(value, bytes | bytearray) else repr(value)
    if len(text) > MAX_RENDERED_VALUE:
        return text[: MAX_RENDERED_VALUE - 1] + "…"
    return text


class ReportRejected(SyncError):
    """A report that must not be admitted; ``reason`` is its security-event reason.

    ``field`` names the field that failed to decode or check and ``value``
    holds a bounded rendering of its value (:func:`render_value`), so the
    installer sees why without the report being logged whole. Neither is
    given for refusals that concern the report as a whole, and neither may
    ever carry a key or a credential.
    """

    def __init__(
        self, reason: str, message: str, *, field: str | None = None, value: object = None
    ) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.detail = message
        self.field = field
        self.value = None if value is None else render_value(value)


class FrameIgnored(SyncError):
    """A frame its type passes over on purpose: a record kind the type does not read
    (``"unmatched": "ignore"``, such as a GPS receiver's $GPTXT). Nothing is wrong
    with the device or the frame, so it is counted, never refused or reported."""


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


def _nonce(document: dict[str, Any]) -> bytes:
    nonce = _b64(document, "nonce")
    if len(nonce) != NONCE_BYTES:
        raise ReportRejected("malformed", f"the nonce is {NONCE_BYTES} bytes")
    return nonce


def _decrypt(key: bytes, nonce: bytes, ciphertext: bytes, associated: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, associated)
    except (InvalidTag, ValueError) as exc:
        raise ReportRejected("bad-signature", "the sealed report does not open") from exc


def open_sealed(raw: bytes, source: str, key: bytes) -> OpenedReport:
    document, counter = _envelope(raw)
    nonce, ciphertext = _nonce(document), _b64(document, "ciphertext")
    return OpenedReport(counter, _decrypt(key, nonce, ciphertext, context(source, counter)))


# Sealed for the cloud: the gateway proves the sender, only the cloud reads.


def _hkdf(source_key: bytes, info: bytes) -> bytes:
    """RFC 5869 extract-and-expand; a fresh HKDF object per key (they are single-use)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=CLOUD_SEAL_SALT, info=info).derive(
        source_key
    )


def encryption_key(source_key: bytes) -> bytes:
    """The AES-256-GCM key of sealed-for-cloud reports: the device and the cloud only."""
    return _hkdf(source_key, b"encryption")


def authentication_key(source_key: bytes) -> bytes:
    """The HMAC-SHA256 key the registry hands the gateway for a sealed-for-cloud source."""
    return _hkdf(source_key, b"authentication")


def _cloud_tag(auth_key: bytes, source: str, counter: int, nonce: bytes, sealed: bytes) -> bytes:
    # The nonce is fixed-length, so context + nonce + ciphertext splits one way only.
    message = context(source, counter) + nonce + sealed
    return hmac.new(auth_key, message, hashlib.sha256).digest()


def _check_cloud_tag(raw: bytes, source: str, auth_key: bytes) -> tuple[int, bytes, bytes]:
    document, counter = _envelope(raw)
    nonce, ciphertext = _nonce(document), _b64(document, "ciphertext")
    expected = _cloud_tag(auth_key, source, counter, nonce, ciphertext)
    if not hmac.compare_digest(expected, _b64(document, "tag")):
        raise ReportRejected("bad-signature", "the sender's tag does not match the source's key")
    return counter, nonce, ciphertext


def verify_sealed_for_cloud(raw: bytes, source: str, auth_key: bytes) -> int:
    """The gateway's check: the sender's tag holds; the authenticated counter, for replays.

    The payload stays sealed: the gateway has no key that opens it.
    """
    return _check_cloud_tag(raw, source, auth_key)[0]


def open_sealed_for_cloud(raw: bytes, source: str, source_key: bytes) -> OpenedReport:
    """The cloud's side: the tag (what the gateway checked), then the ciphertext."""
    counter, nonce, ciphertext = _check_cloud_tag(raw, source, authentication_key(source_key))
    payload = _decrypt(encryption_key(source_key), nonce, ciphertext, context(source, counter))
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


def seal_for_cloud(
    payload: bytes, source: str, counter: int, source_key: bytes, nonce: bytes
) -> bytes:
    """A report only the cloud opens and the gateway can still attribute (see above).

    ``nonce``: 12 random bytes, never reused under one key (NIST SP 800-38D §8).
    """
    associated = context(source, counter)
    ciphertext = AESGCM(encryption_key(source_key)).encrypt(nonce, payload, associated)
    tag = _cloud_tag(authentication_key(source_key), source, counter, nonce, ciphertext)
    return _wrap(counter, nonce=nonce, ciphertext=ciphertext, tag=tag)
