"""Gateway events on the wire: what happened to data on the gateway (data dropped under a
full disk quota, reading stopped, an outbox file moved aside).

``{"format": "edgeward.gateway-events", "version": 1, "gateway_id": "...",
"events": [{"id": 7, "kind": "data_dropped", "first": "<RFC 3339>",
"last": "<RFC 3339>", "count": 1200, "first_seq": 1, "last_seq": 1200,
"detail": "..."}]}``

``id`` is the gateway's own event number and ``count`` the event's running
total; the cloud keeps the largest count per (gateway, id), so resending an
event, or sending it again after it grew, never counts twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from edgeward.sync.clock import format_time
from edgeward.sync.envelope import Envelope
from edgeward.sync.errors import BatchFormatError

EVENTS_FORMAT = "edgeward.gateway-events"
EVENTS_VERSION = 1
EVENTS_PATH = "/v1/ingest/events"
# The outbox records a moved-aside file as "outbox_quarantined"; both names are accepted.
KINDS = (
    "data_dropped",
    "reading_stopped",
    "outbox_moved_aside",
    "outbox_quarantined",
    "settings_refused",
)
MAX_EVENTS = 1000
ENVELOPE = Envelope(EVENTS_FORMAT, EVENTS_VERSION, "events", MAX_EVENTS)


@dataclass(frozen=True, slots=True)
class GatewayEvent:
    id: int
    kind: str
    first: datetime
    last: datetime
    count: int
    first_seq: int | None
    last_seq: int | None
    detail: str


def encode_events(gateway_id: str, events: list[GatewayEvent]) -> bytes:
    return ENVELOPE.encode(
        gateway_id,
        (
            {
                "id": e.id,
                "kind": e.kind,
                "first": format_time(e.first),
                "last": format_time(e.last),
                "count": e.count,
                "first_seq": e.first_seq,
                "last_seq": e.last_seq,
                "detail": e.detail[:500],
            }
            for e in events
        ),
    )


def decode_events(body: bytes) -> tuple[str, list[GatewayEvent]]:
    gateway_id, items = ENVELOPE.decode(body)
    return gateway_id, [_event(entry, path) for entry, path in items]


def _event(entry: Any, path: str) -> GatewayEvent:
    if not isinstance(entry, dict):
        raise BatchFormatError(path, "expected an object")
    for key in ("id", "count"):
        value = entry.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
            raise BatchFormatError(f"{path}.{key}", "expected a non-negative integer")
    if entry.get("kind") not in KINDS:
        raise BatchFormatError(f"{path}.kind", f"expected one of {', '.join(KINDS)}")
    times = []
    for key in ("first", "last"):
        try:
            times.append(datetime.fromisoformat(str(entry.get(key)).upper()))
        except ValueError as exc:
            raise BatchFormatError(f"{path}.{key}", "expected an RFC 3339 time") from exc
        if times[-1].tzinfo is None:
            raise BatchFormatError(f"{path}.{key}", "expected a UTC offset")
    seqs = []
    for key in ("first_seq", "last_seq"):
        value = entry.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise BatchFormatError(f"{path}.{key}", "expected an integer or null")
        seqs.append(value)
    detail = entry.get("detail", "")
    if not isinstance(detail, str):
        raise BatchFormatError(f"{path}.detail", "expected a string")
    return GatewayEvent(
        entry["id"],
        entry["kind"],
        times[0],
        times[1],
        entry["count"],
        seqs[0],
        seqs[1],
        detail[:500],
    )
