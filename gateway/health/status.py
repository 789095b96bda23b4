"""The one interface between the running pipeline and what reports its health.

The runtime fills a :class:`PipelineStatus` when asked (:class:`StatusSource`);
the publisher turns it into status.json and metrics. Health sees these
records and nothing of the runtime's parts, so the runtime can be rebuilt
without touching health, and health imports nothing above it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from edgeward.drivers.base import DeviceHealth
from edgeward.gateway.outbox.records import OutboxStats


@dataclass(frozen=True, slots=True)
class OutboxStatus:
    stats: OutboxStats
    full_policy: str
    # Readings the writer committed since start, and readings queued for it.
    committed_total: int
    queued: int


@dataclass(frozen=True, slots=True)
class UplinkStatus:
    readings_sent_total: int
    batches_sent_total: int
    failures_total: int
    failing: bool
    last_success_us: int | None
    last_error: str | None
    last_error_us: int | None
    # Batch bytes before and after compression.
    body_bytes_total: int
    wire_bytes_total: int


@dataclass(frozen=True, slots=True)
class AdmissionStatus:
    # The registry in force: version, sources, when it was verified, its last error.
    registry: Mapping[str, Any]
    admitted_total: int
    # Frames their type passes over on purpose (``unmatched: ignore``): not refusals.
    ignored_total: int
    refused_since_start: Mapping[str, int]
    # Refusals kept in rows until the cloud heard of them.
    refused_rows: Mapping[str, Any]
    reporting_failing: bool


@dataclass(frozen=True, slots=True)
class PipelineStatus:
    gateway_id: str
    started_us: int
    outbox: OutboxStatus
    uplink: UplinkStatus
    admission: AdmissionStatus
    # Every device by source, polled and streaming alike.
    devices: Mapping[str, DeviceHealth]


class StatusSource(Protocol):
    """What the health publisher reads: the runtime implements it."""

    async def status(self) -> PipelineStatus:
        """The pipeline's counters now; cheap enough to call every status interval."""
        ...


__all__ = [
    "AdmissionStatus",
    "OutboxStatus",
    "PipelineStatus",
    "StatusSource",
    "UplinkStatus",
]
