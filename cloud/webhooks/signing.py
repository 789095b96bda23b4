"""Webhook signatures: HMAC-SHA256 (RFC 2104) over the timestamp and the body.

Header: ``Edgeward-Signature: t=<unix seconds>,v1=<hex HMAC of "<t>." + body>``.
Binding the timestamp lets a receiver refuse replays older than its
tolerance; the receiver's check is :func:`verify`.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "Edgeward-Signature"
DEFAULT_TOLERANCE_S = 300


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(
    header: str,
    secret: bytes,
    body: bytes,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """True if ``header`` signs ``body`` with ``secret`` and is recent enough."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))
