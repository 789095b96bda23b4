"""One place that polls devices and knows whether they are available.

Each device is polled on its own period by its own loop, so a slow or dead
device never delays the others' schedule. A device that starts failing is
logged once, and once again when it recovers; it is marked unavailable in
its :class:`DeviceHealth` rather than raising through the runtime. The next
poll is always scheduled.

A frame read is handed, undecoded, to the :class:`Gate` (admission): it
decides whether the reading gets in and decodes it by its registry type. A
device that answers but whose readings are refused is not "up": the gate's
refusal is kept in its health (:func:`note_refusal`), and status shows it.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping
from typing import Protocol

from edgeward.drivers.base import DeviceHealth, PollingDriver, Reading, Refusal
from edgeward.drivers.cancellation import raise_if_cancelling
from edgeward.drivers.errors import DeviceProtocolError, DeviceUnavailable

log = logging.getLogger(__name__)


class Gate(Protocol):
    async def take(self, reading: Reading) -> Refusal | None:
        """Queue ``reading`` decoded if it is admitted: None if it was, else why not."""
        ...


def note_refusal(health: DeviceHealth, refusal: Refusal | None) -> None:
    """Keep the refused streak (an admitted reading ends it) and the latest refusal."""
    if refusal is None:
        health.refused = 0
        return
    health.refused += 1
    health.last_refusal = refusal


class PollCoordinator:
    def __init__(
        self,
        driver: PollingDriver,
        intervals: Mapping[str, float],
        gate: Gate,
    ) -> None:
        self.driver = driver
        self.intervals = dict(intervals)
        self.gate = gate
        self.health = {source: DeviceHealth(polled=True) for source in driver.sources}
        self.malformed = 0

    async def run(self) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                for source in self.driver.sources:
                    group.create_task(self._poll_forever(source), name=f"poll {source}")
        finally:
            await self.driver.close()

    async def _poll_forever(self, source: str) -> None:
        loop = asyncio.get_running_loop()
        interval = self.intervals[source]
        due = loop.time()
        while True:
            await self.poll_once(source)
            raise_if_cancelling()  # pymodbus's wait_for may have swallowed a stop
            due += interval
            now = loop.time()
            if due < now:
                # A late poll skips the ticks it missed and keeps to its grid. Polling
                # again at once would burst, and on a shared bus it would collide
                # with the gap the bus scheduler just gave a failing unit.
                due += math.ceil((now - due) / interval) * interval
            await asyncio.sleep(due - now)

    async def poll_once(self, source: str) -> None:
        health = self.health[source]
        try:
            reading = await self.driver.poll(source)
        except DeviceUnavailable as exc:
            self._failed(source, health, exc)
            return
        except DeviceProtocolError as exc:
            self.malformed += 1
            health.malformed += 1
            self._failed(source, health, exc)
            return
        if not health.available:
            log.info("%s is available", source)
        health.available = True
        health.reads += 1
        health.consecutive_failures = 0
        health.last_success = reading.time
        note_refusal(health, await self.gate.take(reading))

    def _failed(self, source: str, health: DeviceHealth, exc: Exception) -> None:
        was_available = health.available or health.reads == health.failures == 0
        health.available = False
        health.failures += 1
        health.consecutive_failures += 1
        health.last_error = str(exc)
        if was_available:
            log.warning("%s is unavailable: %s", source, exc)
