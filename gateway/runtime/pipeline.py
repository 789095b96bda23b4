"""The gateway runtime: builds the pipeline from config and supervises it.

Devices are read by coordinators built from gateway.toml's bindings and the
registry's types (:mod:`edgeward.gateway.devices.bindings`); when a pulled
registry changes what a section's drivers were built from, that section's
coordinator is stopped and started anew, the others keep reading.

Shutdown runs in the pipeline's order: pollers stop first, the writer then
commits what they already queued, and only then do the writer and the uplink
stop, so a clean stop loses nothing that a device handed over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from edgeward.drivers.base import DeviceHealth
from edgeward.gateway.admission.gate import AdmissionGate
from edgeward.gateway.admission.policy import Admission
from edgeward.gateway.admission.registry_pull import RegistrySync
from edgeward.gateway.admission.store import AdmissionStore
from edgeward.gateway.config.loader import GatewayConfig
from edgeward.gateway.devices.bindings import DeviceGroup, device_groups
from edgeward.gateway.errors import GatewayError
from edgeward.gateway.health.publisher import HealthPublisher, read_status
from edgeward.gateway.health.status import (
    AdmissionStatus,
    OutboxStatus,
    PipelineStatus,
    UplinkStatus,
)
from edgeward.gateway.outbox.store import NewReading, Outbox
from edgeward.gateway.outbox.uplink import Uplink
from edgeward.gateway.outbox.writer import OutboxWriter
from edgeward.gateway.runtime.supervisor import Supervisor
from edgeward.sync.client import CloudClient
from edgeward.sync.clock import now_us

log = logging.getLogger(__name__)

QUEUE_SIZE = 10_000
# Together with FLUSH_TIMEOUT and the supervisors' stop timeouts, a clean stop
# stays well inside systemd's (and the tests') patience.
DRAIN_TIMEOUT = 5.0
# How long a clean stop keeps sending before it leaves the rest for the next start.
FLUSH_TIMEOUT = 5.0
# How long a gateway that never had a registry waits for its first before reading devices.
FIRST_PULL_TIMEOUT = 5.0


class GatewayRuntime:
    def __init__(self, config: GatewayConfig, client: CloudClient) -> None:
        """``client``: every call to the cloud goes through it; the caller closes it
        after :meth:`run` returned (see :mod:`edgeward.gateway.runtime.service`)."""
        self.config = config
        self.queue: asyncio.Queue[NewReading] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self.started_us = now_us()
        self.outbox = Outbox(
            config.outbox_path,
            synchronous=config.outbox.synchronous,
            max_bytes=config.outbox.max_bytes,
            full_policy=config.outbox.full_policy,
            key_rotation_days=config.outbox.key_rotation_days,
            seq_floor=_last_published_seq(config),
        )
        self.writer = OutboxWriter(self.outbox, self.queue)
        self.client = client
        self.uplink = Uplink(
            config.gateway_id,
            self.client,
            self.outbox,
            self.writer.committed,
            batch_max_readings=config.uplink.batch_max_readings,
            batch_max_bytes=config.uplink.batch_max_bytes,
            batch_max_age=config.uplink.batch_max_age,
            idle_interval=config.uplink.idle_interval,
            backoff_max=config.uplink.backoff_max,
        )
        # Admission's memory (replay counters, refusal rows) outlives any outbox file.
        self.admission_store = AdmissionStore(config.data_dir / "admission.db")
        self._types_changed = asyncio.Event()
        admission = Admission(None, replay=self.admission_store)
        self.gate = AdmissionGate(admission, self.admission_store, self.queue)
        self.registry = RegistrySync(
            config.gateway_id,
            config.data_dir,
            config.admission,
            self.client,
            admission,
            config.cloud.public_key,
            on_change=self._types_changed.set,
        )
        self.groups: dict[str, DeviceGroup] = {}
        self.health = HealthPublisher(self, config.health, config.data_dir)
        self.pollers = Supervisor()
        self.pipeline = Supervisor()

    def _device_groups(self) -> list[DeviceGroup]:
        """Every section's coordinator, built from the registry in force."""
        return device_groups(self.config, self.gate.admission.types, self.gate)

    def _start_devices(self, groups: list[DeviceGroup]) -> None:
        for group in groups:
            self.groups[group.name] = group
            if group.coordinator is not None:
                self.pollers.start(group.name, group.coordinator.run)
            for source, why in group.waiting.items():
                log.warning("%s is not read: %s", source, why)

    async def _follow_registry(self) -> None:
        """Rebuild the sections whose drivers a new registry changes."""
        while True:
            await self._types_changed.wait()
            self._types_changed.clear()
            changed = []
            for group in self._device_groups():
                if self.groups[group.name].fingerprint == group.fingerprint:
                    self.groups[group.name].waiting = group.waiting
                    continue
                log.info("%s: the registry changed how its devices are read", group.name)
                await self.pollers.stop_task(group.name)
                changed.append(group)
            self._start_devices(changed)

    async def status(self) -> PipelineStatus:
        """The counters health publishes (:class:`~edgeward.gateway.health.status.StatusSource`)."""
        uplink = self.uplink.stats
        gate = self.gate
        return PipelineStatus(
            gateway_id=self.config.gateway_id,
            started_us=self.started_us,
            outbox=OutboxStatus(
                await self.outbox.stats(),
                self.outbox.full_policy,
                committed_total=self.writer.readings_committed,
                queued=self.queue.qsize(),
            ),
            uplink=UplinkStatus(
                readings_sent_total=uplink.readings_sent,
                batches_sent_total=uplink.batches_sent,
                failures_total=uplink.failures,
                failing=uplink.failing,
                last_success_us=uplink.last_success_us,
                last_error=uplink.last_error,
                last_error_us=uplink.last_error_us,
                body_bytes_total=self.client.body_bytes,
                wire_bytes_total=self.client.wire_bytes,
            ),
            admission=AdmissionStatus(
                registry=self.registry.status(),
                admitted_total=gate.admitted,
                ignored_total=gate.ignored,
                refused_since_start=dict(gate.refused),
                refused_rows=gate.store.totals(),
                reporting_failing=gate.reporting_failing,
            ),
            # Polled and streaming devices alike: a broker that is down must show.
            devices=self._device_health(),
        )

    def _device_health(self) -> dict[str, DeviceHealth]:
        devices: dict[str, DeviceHealth] = {}
        for group in self.groups.values():
            for source, why in group.waiting.items():
                devices[source] = DeviceHealth(last_error=why)
            if group.coordinator is not None:
                devices.update(group.coordinator.health)
        return devices

    async def run(self, stop: asyncio.Event) -> None:
        await self.outbox.open()
        await self.registry.start(FIRST_PULL_TIMEOUT)
        log.info(
            "gateway %s started: %d readings waiting in %s",
            self.config.gateway_id,
            await self.outbox.depth(),
            self.config.outbox_path,
        )
        try:
            await self.health.start_metrics()
            self.pipeline.start("outbox-writer", self.writer.run)
            self.pipeline.start("uplink", self.uplink.run)
            self.pipeline.start("health", self.health.run)
            self.pipeline.start("registry", self.registry.run)
            self.pipeline.start("security-events", self._report_security_events)
            self._types_changed.clear()
            self._start_devices(self._device_groups())
            self.pipeline.start("devices", self._follow_registry)
            await stop.wait()
        finally:
            await self._shutdown()

    async def _report_security_events(self) -> None:
        interval = self.config.admission.report_interval
        await self.gate.report(self.client, self.config.gateway_id, interval)

    async def _shutdown(self) -> None:
        await self.pollers.stop()
        try:
            async with asyncio.timeout(DRAIN_TIMEOUT):  # not wait_for: see Supervisor.stop
                await self.queue.join()
        except TimeoutError:
            log.error("%d queued readings not committed at shutdown", self.queue.qsize())
        await self.pipeline.stop()
        loop = asyncio.get_running_loop()
        await self.uplink.flush(loop.time() + FLUSH_TIMEOUT)
        self.gate.flush()  # refusals not yet in a row: reported after the next start
        await self.health.stop_metrics()
        with contextlib.suppress(OSError, GatewayError):
            await self.health.publish()  # the final counts, for `edgeward gateway status`
        await self.outbox.close()
        self.admission_store.close()
        log.info("gateway %s stopped", self.config.gateway_id)


def _last_published_seq(config: GatewayConfig) -> int:
    """The highest sequence the last run published: a floor for a fresh outbox's first.

    Covers a replaced outbox on a box whose clock came up wrong (no RTC, no NTP yet).
    """
    try:
        return int(read_status(config.data_dir)["outbox"]["last_seq"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0
