"""From the outbox to the cloud: batches sent, deleted only once acknowledged.

:class:`Uplink` sends unacknowledged readings in batches bounded by count,
bytes and age, and deletes them only after the cloud's ack. It retries
forever with jittered backoff: no outage, however long, needs a restart.
While a backlog drains, every other batch is the newest readings, so live
data reaches the cloud within two batches instead of after the whole
backlog (the cloud orders by time and dedups by seq, so order on the wire
does not matter).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from edgeward.drivers.backoff import Backoff
from edgeward.gateway.outbox.store import Outbox, StoredReading
from edgeward.sync.batch import Batch, WireReading
from edgeward.sync.client import CloudClient
from edgeward.sync.clock import from_us, now_us
from edgeward.sync.errors import CloudRejected, CloudUnavailable
from edgeward.sync.events import GatewayEvent

log = logging.getLogger(__name__)

# What a reading costs in a batch beyond its sealed plaintext: seq, time format, keys.
WIRE_OVERHEAD = 64
# A batch's envelope around its readings: format, version, gateway id.
BATCH_OVERHEAD = 128
# 4xx answers that condemn the batch itself: sending the same bytes again
# cannot succeed, so the readings are set aside instead of blocking the queue.
BATCH_REFUSALS = frozenset({400, 413, 422})
# Single readings set aside in a row before the uplink stops setting aside and
# waits instead: bounds what a cloud-side regression can cost.
MAX_REFUSED_IN_A_ROW = 20
# How often the uplink looks for gateway events the cloud has not heard of.
EVENT_REPORT_INTERVAL = 5.0


@dataclass(slots=True)
class UplinkStats:
    batches_sent: int = 0
    readings_sent: int = 0
    readings_rejected: int = 0
    failures: int = 0
    last_success_us: int | None = None
    last_error: str | None = None
    last_error_us: int | None = None
    failing: bool = False


class Uplink:
    def __init__(
        self,
        gateway_id: str,
        client: CloudClient,
        outbox: Outbox,
        new_data: asyncio.Event,
        *,
        batch_max_readings: int,
        idle_interval: float,
        backoff_max: float,
        batch_max_bytes: int = 1024 * 1024,
        batch_max_age: float = 0.0,
    ) -> None:
        self.gateway_id = gateway_id
        self.client = client
        self.outbox = outbox
        self.new_data = new_data
        self.batch_max_readings = batch_max_readings
        self.batch_max_bytes = batch_max_bytes
        self.batch_max_age = batch_max_age
        self.idle_interval = idle_interval
        self.backoff = Backoff(0.5, backoff_max)
        self.stats = UplinkStats()
        self._failing = False
        self._refused_in_a_row = 0
        self._live_turn = False
        self._next_event_report = 0.0

    async def run(self) -> None:
        while True:
            pending = await self._next_pending()
            if pending:
                await self.send(pending)
            if not self._failing:
                await self.report_events()

    async def report_events(self) -> None:
        """Tell the cloud what happened to data here (drops under the quota, ...),
        at most every EVENT_REPORT_INTERVAL; an event that grew is sent again."""
        loop = asyncio.get_running_loop()
        if loop.time() < self._next_event_report:
            return
        self._next_event_report = loop.time() + EVENT_REPORT_INTERVAL
        rows = await self.outbox.unreported_events()
        if not rows:
            return
        events = [
            GatewayEvent(
                row["id"],
                row["kind"],
                from_us(row["first_us"]),
                from_us(row["last_us"]),
                row["count"],
                row["first_seq"],
                row["last_seq"],
                row["detail"],
            )
            for row in rows
        ]
        try:
            await self.client.post_gateway_events(self.gateway_id, events)
        except (CloudUnavailable, CloudRejected) as exc:
            log.warning("gateway events not reported yet: %s", exc)
            return
        await self.outbox.mark_reported({event.id: event.count for event in events})

    async def flush(self, deadline: float) -> None:
        """Send what waits until the outbox is empty, a send fails, or ``deadline`` passes.

        Used at a clean stop, so that ``systemctl stop`` after a site visit
        leaves the readings in the cloud rather than on the box.
        """
        loop = asyncio.get_running_loop()
        while loop.time() < deadline:
            pending = self._fit(await self.outbox.pending(self.batch_max_readings))
            if not pending:
                return
            try:
                async with asyncio.timeout_at(deadline):
                    await self.client.post_batch(self._batch(pending))
            except (CloudUnavailable, CloudRejected, TimeoutError) as exc:
                log.warning(
                    "%d+ readings stay in the outbox for the next start: %s", len(pending), exc
                )
                return
            await self._acknowledged(pending)

    async def _next_pending(self) -> list[StoredReading]:
        pending = await self._take()
        if not pending:
            # Clear before looking again, so a commit in between is never missed.
            self.new_data.clear()
            pending = await self._take()
            if not pending:
                await self._wait_for_data(self.idle_interval)
                return pending
        if self._is_short(pending) and self.batch_max_age > 0:
            pending = await self._linger(pending)
        return pending

    async def _take(self) -> list[StoredReading]:
        """The next batch: the oldest readings, or, every other time while a backlog drains,
        the newest."""
        backlog = await self.outbox.depth() > self.batch_max_readings
        self._live_turn = backlog and not self._live_turn
        pending = await self.outbox.pending(self.batch_max_readings, newest=self._live_turn)
        return self._fit(pending, newest=self._live_turn)

    def _fit(self, pending: list[StoredReading], *, newest: bool = False) -> list[StoredReading]:
        """Cut ``pending`` to ``batch_max_bytes`` (one reading always goes, however big)."""
        ordered = reversed(pending) if newest else iter(pending)
        kept: list[StoredReading] = []
        size = BATCH_OVERHEAD
        for reading in ordered:
            size += reading.size + WIRE_OVERHEAD
            if kept and size > self.batch_max_bytes:
                break
            kept.append(reading)
        if newest:
            kept.reverse()
        return kept

    def _is_short(self, pending: list[StoredReading]) -> bool:
        size = BATCH_OVERHEAD + sum(reading.size + WIRE_OVERHEAD for reading in pending)
        return len(pending) < self.batch_max_readings and size < self.batch_max_bytes // 2

    async def _linger(self, pending: list[StoredReading]) -> list[StoredReading]:
        """Wait up to ``batch_max_age`` for a short batch to fill.

        Fewer, bigger posts compress better and cost the cloud one transaction each.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.batch_max_age
        while self._is_short(pending) and (left := deadline - loop.time()) > 0:
            # Clear, then look again: a commit in between is seen now, not at the deadline.
            self.new_data.clear()
            pending = await self._take()
            if self._is_short(pending):
                await self._wait_for_data(left)
        return await self._take() if self._is_short(pending) else pending

    async def _wait_for_data(self, seconds: float) -> None:
        """Until a commit or ``seconds``; a cancellation is never lost.

        ``asyncio.timeout`` rather than ``wait_for``: on Python 3.11, a cancel
        that lands as ``wait_for`` times out can be swallowed (cpython#86296),
        and the supervisor's stop would then wait for the uplink forever.
        """
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self.new_data.wait()

    def _batch(self, pending: list[StoredReading]) -> Batch:
        return Batch(
            gateway_id=self.gateway_id,
            readings=tuple(
                WireReading(seq=r.seq, source=r.source, time=from_us(r.time_us), values=r.values)
                for r in pending
            ),
        )

    async def send(self, pending: list[StoredReading]) -> None:
        try:
            await self.client.post_batch(self._batch(pending))
        except CloudUnavailable as exc:
            await self._wait_after_failure(str(exc), exc.retry_after)
            return
        except CloudRejected as exc:
            if exc.status_code not in BATCH_REFUSALS:
                await self._wait_after_failure(str(exc), None)
            elif len(pending) > 1:
                # One bad reading (or a batch too big for the cloud) must not cost
                # the good ones: halve until the refusal is down to single readings.
                middle = len(pending) // 2
                log.warning(
                    "cloud refused %d readings (%s); retrying in halves", len(pending), exc.code
                )
                await self.send(pending[:middle])
                await self.send(pending[middle:])
            elif self._refused_in_a_row >= MAX_REFUSED_IN_A_ROW:
                # The cloud refuses every reading: more likely its rules changed than
                # every reading went bad. Hold them and retry, rather than set aside all.
                await self._wait_after_failure(f"the cloud refuses every reading: {exc}", None)
            else:
                self._refused_in_a_row += 1
                await self._set_aside(pending, str(exc))
            return
        self._refused_in_a_row = 0
        await self._acknowledged(pending)

    async def _acknowledged(self, pending: list[StoredReading]) -> None:
        await self.outbox.remove_through(pending[0].seq, pending[-1].seq)
        if self._failing:
            log.info("cloud reachable again; sending the backlog")
            self._failing = False
        self.backoff.reset()
        self.stats.failing = False
        self.stats.batches_sent += 1
        self.stats.readings_sent += len(pending)
        self.stats.last_success_us = now_us()

    async def _set_aside(self, pending: list[StoredReading], reason: str) -> None:
        first, last = pending[0].seq, pending[-1].seq
        moved = await self.outbox.reject(first, last, reason, now_us())
        self.stats.readings_rejected += moved
        log.error("set aside %d readings (seq %d-%d): %s", moved, first, last, reason)

    async def _wait_after_failure(self, error: str, retry_after: float | None) -> None:
        # The cloud's Retry-After is honoured, but never beyond our own ceiling:
        # a wrong header must not park the uplink for days.
        delay = (
            self.backoff.next() if retry_after is None else min(retry_after, self.backoff.maximum)
        )
        if not self._failing:
            log.warning("uplink failing, readings stay in the outbox: %s", error)
            self._failing = True
        self.stats.failing = True
        self.stats.failures += 1
        self.stats.last_error = error
        self.stats.last_error_us = now_us()
        log.debug("next uplink attempt in %.1fs", delay)
        await asyncio.sleep(delay)
