"""Security events on the wire: the gateway's refusals, aggregated per window.

``POST /v1/ingest/security-events`` (grant ``ingest``) with
``{"format": "edgeward.security-events", "version": 1, "gateway_id": "...",
"events": [{"source": "meter-9", "reason": "unknown-source",
"window_start": "<RFC 3339>", "first": "<RFC 3339>", "last": "<RFC 3339>",
"count": 1200}]}``.

An event may also say why, from the window's latest refusal: ``field`` (the
field at fault, 1-128 chars), ``value`` (a bounded rendering of what it held,
at most 64 chars: :func:`edgeward.sync.reports.render_value` gives 40; never a
key, a MAC or a report whole) and ``detail`` (the decoder's message, at most
256 chars). Each is optional: a refusal of a report as a whole has no field,
and a gateway from before these keys sends none of them.

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
# (key, shortest, longest) of the optional texts that say why.
WHY = (("field", 1, 128), ("value", 0, 64), ("detail", 0, 256))


@dataclass(frozen=True, slots=True)
class SecurityEvent:
    source: str
    reason: str
    window_start: datetime
    first: datetime
    last: datetime
    count: int
    field: str | None = None
    value: str | None = None
    detail: str | None = None


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
                **{
                    key: text
                    for key, text in (("field", e.field), ("value", e.value), ("detail", e.detail))
                    if text is not None
                },
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
    why: list[str | None] = []
    for key, shortest, longest in WHY:
        value = entry.get(key)
        if value is not None and (
            not isinstance(value, str) or not shortest <= len(value) <= longest
        ):
            raise BatchFormatError(
                f"{path}.{key}", f"expected a string of {shortest} to {longest} chars, or null"
            )
        why.append(value)
    return SecurityEvent(texts[0], texts[1], times[0], times[1], times[2], count, *why)
