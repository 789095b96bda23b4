"""What the running gateway tells the outside: status.json and Prometheus metrics.

Both are views of one snapshot (:func:`take_snapshot`) of what the runtime
reports through :mod:`.status`: outbox depth and bytes, the oldest unsent
reading's age, the send rate, the last success and the last error, dropped
and rejected counts, and each device's state (:mod:`.devices`: up, refused,
down or waiting, with why).

* ``status.json`` in the data dir, replaced atomically every
  ``status_interval``; ``edgeward gateway status`` reads it, so the command
  works without a network listener and without touching the outbox file.
* ``GET /metrics`` on ``metrics_host:metrics_port`` in the Prometheus text
  exposition format 0.0.4, written here with asyncio: a dozen gauges and
  counters don't earn prometheus-client a place on the box.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import math
import os
from pathlib import Path
from typing import Any

from edgeward.gateway.config.pipeline import HealthConfig
from edgeward.gateway.files import write_atomic
from edgeward.gateway.health.devices import device_metrics, device_snapshot
from edgeward.gateway.health.status import PipelineStatus, StatusSource
from edgeward.gateway.health.systemd_notify import notify, watchdog_interval
from edgeward.sync.clock import now_us

log = logging.getLogger(__name__)

STATUS_FILE = "status.json"
# The send rate is averaged over this many seconds of snapshots.
RATE_WINDOW = 10.0
REQUEST_TIMEOUT = 5.0
MAX_REQUEST_BYTES = 8192


def take_snapshot(
    status: PipelineStatus, send_rate: float, metrics_url: str | None
) -> dict[str, Any]:
    outbox, uplink = status.outbox.stats, status.uplink
    now = now_us()
    oldest_age = None if outbox.oldest_time_us is None else (now - outbox.oldest_time_us) / 1e6
    return {
        "gateway_id": status.gateway_id,
        "pid": os.getpid(),
        "updated_us": now,
        "started_us": status.started_us,
        "metrics_url": metrics_url,
        "outbox": {
            "depth": outbox.depth,
            "backlog_bytes": outbox.backlog_bytes,
            "max_bytes": outbox.max_bytes,
            "full_policy": status.outbox.full_policy,
            "full": outbox.full,
            "first_seq": outbox.first_seq,
            "last_seq": outbox.last_seq,
            "oldest_unsent_age_s": oldest_age,
            "dropped_total": outbox.dropped_total,
            "rejected_total": outbox.rejected_total,
            "moved_aside": list(outbox.quarantined),
            "committed_total": status.outbox.committed_total,
            "queued": status.outbox.queued,
        },
        "uplink": {
            "send_rate": send_rate,
            "readings_sent_total": uplink.readings_sent_total,
            "batches_sent_total": uplink.batches_sent_total,
            "failures_total": uplink.failures_total,
            "failing": uplink.failing,
            "last_success_us": uplink.last_success_us,
            "last_error": uplink.last_error,
            "last_error_us": uplink.last_error_us,
            "body_bytes_total": uplink.body_bytes_total,
            "wire_bytes_total": uplink.wire_bytes_total,
        },
        "admission": admission_snapshot(status),
        "devices": {source: device_snapshot(health) for source, health in status.devices.items()},
    }


def admission_snapshot(status: PipelineStatus) -> dict[str, Any]:
    """The registry in force and what admission refused: since start, and in stored rows."""
    admission = status.admission
    return {
        "registry": dict(admission.registry),
        "admitted_total": admission.admitted_total,
        "ignored_total": admission.ignored_total,
        "refused_since_start": dict(sorted(admission.refused_since_start.items())),
        "refused_rows": dict(admission.refused_rows),
        "reporting_failing": admission.reporting_failing,
    }


class HealthPublisher:
    """Publishes what ``source`` reports; knows nothing else of the running gateway."""

    def __init__(self, source: StatusSource, config: HealthConfig, data_dir: Path) -> None:
        self.source = source
        self.config = config
        self.status_path = data_dir / STATUS_FILE
        self.metrics_url: str | None = None
        self._server: asyncio.Server | None = None
        self._samples: collections.deque[tuple[float, int]] = collections.deque()

    async def run(self) -> None:
        """Rewrite status.json every ``status_interval`` until cancelled."""
        while True:
            await self.publish()
            # Each snapshot taken proves the pipeline's store answers: tell systemd.
            notify("READY=1\nWATCHDOG=1")
            await asyncio.sleep(min(self.config.status_interval, watchdog_interval() or math.inf))

    async def publish(self) -> dict[str, Any]:
        snapshot = await self.snapshot()
        data = json.dumps(snapshot, indent=1).encode()
        await asyncio.to_thread(write_atomic, self.status_path, data, mode=0o644, durable=False)
        return snapshot

    async def snapshot(self) -> dict[str, Any]:
        status = await self.source.status()
        send_rate = self._send_rate(status.uplink.readings_sent_total)
        return take_snapshot(status, send_rate, self.metrics_url)

    def _send_rate(self, readings_sent: int) -> float:
        """Readings acknowledged per second over the last ``RATE_WINDOW`` seconds."""
        now = asyncio.get_running_loop().time()
        self._samples.append((now, readings_sent))
        while len(self._samples) > 2 and now - self._samples[1][0] >= RATE_WINDOW:
            self._samples.popleft()
        (first_time, first_sent), (last_time, last_sent) = self._samples[0], self._samples[-1]
        elapsed = last_time - first_time
        return (last_sent - first_sent) / elapsed if elapsed > 0 else 0.0

    async def start_metrics(self) -> None:
        port = self.config.metrics_port
        if port is None:
            return
        self._server = await asyncio.start_server(self._serve, self.config.metrics_host, port)
        bound = self._server.sockets[0].getsockname()[1]
        self.metrics_url = f"http://{self.config.metrics_host}:{bound}/metrics"
        log.info("metrics on %s", self.metrics_url)

    async def stop_metrics(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                head = await reader.readuntil(b"\r\n\r\n")
            method, target, *_ = head[:MAX_REQUEST_BYTES].decode("latin-1").split(" ", 2)
            if method == "GET" and target.split("?")[0] == "/metrics":
                snapshot = await self.snapshot()
                body = exposition(snapshot).encode()
                status, kind = "200 OK", "text/plain; version=0.0.4; charset=utf-8"
            else:
                body, status, kind = b"not found\n", "404 Not Found", "text/plain"
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass  # a scraper that hung up or spoke nonsense gets nothing
        except OSError as exc:
            log.debug("metrics request failed: %s", exc)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


# (name, type, help, path in the snapshot)
METRICS = [
    ("edgeward_outbox_depth", "gauge", "Readings waiting for the cloud's ack.", "outbox.depth"),
    ("edgeward_outbox_backlog_bytes", "gauge", "Bytes the backlog takes.", "outbox.backlog_bytes"),
    ("edgeward_outbox_max_bytes", "gauge", "The backlog's quota.", "outbox.max_bytes"),
    ("edgeward_outbox_full", "gauge", "1 while stop_reading holds the pollers.", "outbox.full"),
    (
        "edgeward_outbox_oldest_unsent_age_seconds",
        "gauge",
        "Age of the oldest reading not yet acknowledged.",
        "outbox.oldest_unsent_age_s",
    ),
    (
        "edgeward_outbox_dropped_readings_total",
        "counter",
        "Readings dropped to keep the quota (this outbox file).",
        "outbox.dropped_total",
    ),
    (
        "edgeward_outbox_rejected_readings_total",
        "counter",
        "Readings the cloud refused, set aside (this outbox file).",
        "outbox.rejected_total",
    ),
    (
        "edgeward_outbox_committed_readings_total",
        "counter",
        "Readings committed since start.",
        "outbox.committed_total",
    ),
    (
        "edgeward_uplink_sent_readings_total",
        "counter",
        "Readings acknowledged by the cloud since start.",
        "uplink.readings_sent_total",
    ),
    (
        "edgeward_uplink_batches_total",
        "counter",
        "Batches acknowledged since start.",
        "uplink.batches_sent_total",
    ),
    (
        "edgeward_uplink_failures_total",
        "counter",
        "Failed send attempts since start.",
        "uplink.failures_total",
    ),
    ("edgeward_uplink_failing", "gauge", "1 while sends fail.", "uplink.failing"),
    (
        "edgeward_uplink_send_rate",
        "gauge",
        "Readings acknowledged per second, last 10 s.",
        "uplink.send_rate",
    ),
    (
        "edgeward_uplink_last_success_timestamp_seconds",
        "gauge",
        "When the cloud last acknowledged a batch.",
        "uplink.last_success_us",
    ),
    (
        "edgeward_uplink_wire_bytes_total",
        "counter",
        "Batch bytes sent, after compression.",
        "uplink.wire_bytes_total",
    ),
]


def exposition(snapshot: dict[str, Any]) -> str:
    """The snapshot in Prometheus text format 0.0.4; absent values are left out."""
    lines: list[str] = []
    for name, kind, help_text, path in METRICS:
        section, key = path.split(".")
        value = snapshot[section][key]
        if value is None:
            continue
        if key.endswith("_us"):
            value = value / 1e6
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {_number(value)}"]
    lines += [
        "# HELP edgeward_outbox_moved_aside_total Corrupt outbox files moved aside since start.",
        "# TYPE edgeward_outbox_moved_aside_total counter",
        f"edgeward_outbox_moved_aside_total {len(snapshot['outbox']['moved_aside'])}",
        *device_metrics(snapshot["devices"], _label),
    ]
    return "\n".join(lines + _admission_metrics(snapshot["admission"])) + "\n"


def _admission_metrics(admission: dict[str, Any]) -> list[str]:
    lines = [
        "# HELP edgeward_admission_admitted_total Readings admitted since start.",
        "# TYPE edgeward_admission_admitted_total counter",
        f"edgeward_admission_admitted_total {admission['admitted_total']}",
        "# HELP edgeward_admission_ignored_total Frames passed over by their type since start.",
        "# TYPE edgeward_admission_ignored_total counter",
        f"edgeward_admission_ignored_total {admission.get('ignored_total', 0)}",
        "# HELP edgeward_admission_refused_total Readings refused since start, by reason.",
        "# TYPE edgeward_admission_refused_total counter",
    ]
    for reason, count in admission["refused_since_start"].items():
        lines.append(f'edgeward_admission_refused_total{{reason="{_label(reason)}"}} {count}')
    age = admission["registry"]["age_s"]
    if age is not None:
        lines += [
            "# HELP edgeward_registry_age_seconds Since the registry in force was last verified.",
            "# TYPE edgeward_registry_age_seconds gauge",
            f"edgeward_registry_age_seconds {_number(age)}",
        ]
    return lines


def _number(value: object) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    return repr(float(value))  # type: ignore[arg-type]


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def read_status(data_dir: Path) -> dict[str, Any]:
    """The last snapshot the gateway published; raises OSError or ValueError if none."""
    document = json.loads((data_dir / STATUS_FILE).read_bytes())
    if not isinstance(document, dict):
        raise ValueError("status.json is not an object")
    return document
