"""Secrets handed out by the cloud: their format and how they are stored.

Format: ``<kind>_<30 base62 chars><6 base62 chars of CRC-32>``, e.g.
``ewg_...`` for a gateway credential and ``ewt_...`` for an API token. The
prefix and checksum let secret scanners recognise a leaked Edgeward secret
without asking us, the same scheme GitHub uses for its tokens.

Stored only as HMAC-SHA256 (RFC 2104) under a server pepper: a leaked
database alone does not let anyone present a secret, and the hash is
deterministic so it can be looked up by index. The final comparison uses
:func:`hmac.compare_digest`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import zlib

ALPHABET = string.digits + string.ascii_letters
BODY_LENGTH = 30
CHECKSUM_LENGTH = 6
GATEWAY_CREDENTIAL = "ewg"
API_TOKEN = "ewt"  # noqa: S105 - a prefix, not a secret


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, remainder = divmod(number, 62)
        digits.append(ALPHABET[remainder])
    return "".join(reversed(digits))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), CHECKSUM_LENGTH)


def generate(kind: str) -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return f"{kind}_{body}{_checksum(body)}"


def kind_of(secret: str) -> str | None:
    """The secret's kind if it is well-formed with a valid checksum, else None.

    Rejecting malformed secrets here spares a database lookup for typos and
    random scanning.
    """
    kind, separator, rest = secret.partition("_")
    if not separator or len(rest) != BODY_LENGTH + CHECKSUM_LENGTH:
        return None
    if any(character not in ALPHABET for character in rest):
        return None
    body, checksum = rest[:BODY_LENGTH], rest[BODY_LENGTH:]
    if not hmac.compare_digest(_checksum(body), checksum):
        return None
    return kind


def keyed_hash(pepper: bytes, secret: str) -> str:
    return hmac.new(pepper, secret.encode(), hashlib.sha256).hexdigest()


def matches(pepper: bytes, secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(keyed_hash(pepper, secret), stored_hash)


def display_prefix(secret: str) -> str:
    """The part of a secret that may be shown in lists and logs."""
    return secret[: secret.index("_") + 7]
