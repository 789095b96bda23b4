"""Security events on the wire: the gateway's refusals, aggregated per window.

``POST /v1/ingest/security-events`` (grant ``ingest``) with
``{"format": "edgeward.security-events", "version": 1, "gateway_id": "...",
"events": [{"source": "meter-9", "reason": "unknown-source",
"window_start": "<RFC 3339>", "first": "<RFC 3339>", "last": "<RFC 3339>",
"count": 1200}]}``.

``count`` is the window's running total at the gateway. The dedup key is
(gateway, source, reason, window_start): the cloud keeps the largest count it
was told for that key, so a retried post, or the same window sent again
after it grew, never counts twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from edgeward.sync.clock import format_time
from edgeward.sync.envelope import Envelope
from edgeward.sync.errors import BatchFormatError

SECURITY_EVENTS_FORMAT = "edgeward.security-events"
SECURITY_EVENTS_VERSION = 1
SECURITY_EVENTS_PATH = "/v1/ingest/security-events"
MAX_SECURITY_EVENTS = 1000
ENVELOPE = Envelope(SECURITY_EVENTS_FORMAT, SECURITY_EVENTS_VERSION, "events", MAX_SECURITY_EVENTS)
MAX_SOURCE = 128
MAX_REASON = 64


@dataclass(frozen=True, slots=True)
class SecurityEvent:
    source: str
    reason: str
    window_start: datetime
    first: datetime
    last: datetime
    count: int


def encode_security_events(gateway_id: str, events: list[SecurityEvent]) -> bytes:
    return ENVELOPE.encode(
        gateway_id,
        (
            {
                "source": e.source,
                "reason": e.reason,
                "window_start": format_time(e.window_start),
                "first": format_time(e.first),
                "last": format_time(e.last),
                "count": e.count,
            }
            for e in events
        ),
    )


def decode_security_events(body: bytes) -> tuple[str, list[SecurityEvent]]:
    gateway_id, items = ENVELOPE.decode(body)
    return gateway_id, [_event(entry, path) for entry, path in items]


def _event(entry: Any, path: str) -> SecurityEvent:
    if not isinstance(entry, dict):
        raise BatchFormatError(path, "expected an object")
    texts = []
    for key, limit in (("source", MAX_SOURCE), ("reason", MAX_REASON)):
        value = entry.get(key)
        if not isinstance(value, str) or not 0 < len(value) <= limit:
            raise BatchFormatError(f"{path}.{key}", f"expected a string of 1 to {limit} chars")
        texts.append(value)
    count = entry.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or not 0 < count < 2**63:
        raise BatchFormatError(f"{path}.count", "expected a positive integer")
    times = []
    for key in ("window_start", "first", "last"):
        try:
            moment = datetime.fromisoformat(str(entry.get(key)).upper())
        except ValueError as exc:
            raise BatchFormatError(f"{path}.{key}", "expected an RFC 3339 time") from exc
        if moment.tzinfo is None:
            raise BatchFormatError(f"{path}.{key}", "expected a UTC offset")
        times.append(moment)
    return SecurityEvent(texts[0], texts[1], times[0], times[1], times[2], count)
