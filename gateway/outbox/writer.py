"""From decoded readings into the outbox: group commit.

:class:`OutboxWriter` drains the in-memory queue into the outbox, as many
readings per transaction as are waiting. A failed commit is retried with the
same readings (they were never taken), and meanwhile the bounded queue
pushes back on the pollers. A full outbox under ``stop_reading`` is the same
push-back: the pollers wait until the uplink has made room.
"""

from __future__ import annotations

import asyncio
import json
import logging

from edgeward.drivers.backoff import Backoff
from edgeward.gateway.errors import OutboxError, OutboxFull
from edgeward.gateway.outbox.store import NewReading, Outbox

log = logging.getLogger(__name__)

# Readings committed per transaction at most; more wait for the next one.
MAX_GROUP_COMMIT = 2000


class OutboxWriter:
    def __init__(self, outbox: Outbox, queue: asyncio.Queue[NewReading]) -> None:
        self.outbox = outbox
        self.queue = queue
        self.committed = asyncio.Event()
        self.readings_committed = 0
        self.full_waits = 0
        self.unstorable = 0

    async def run(self) -> None:
        backoff = Backoff(0.05, 5.0)
        while True:
            taken = [await self.queue.get()]
            while len(taken) < MAX_GROUP_COMMIT and not self.queue.empty():
                taken.append(self.queue.get_nowait())
            try:
                group = [reading for reading in taken if self._storable(reading)]
                if group:
                    await self._commit(group, backoff)
            finally:
                # Always, so that a clean stop's queue.join() never waits on a lost group.
                for _ in taken:
                    self.queue.task_done()

    def _storable(self, reading: NewReading) -> bool:
        """Whether the outbox can take it; a decoder that let NaN or an unserialisable
        value through must cost that reading, not its whole group."""
        try:
            json.dumps(reading.values, allow_nan=False)
        except (TypeError, ValueError) as exc:
            self.unstorable += 1
            log.error("dropped a reading of %s the outbox can't store: %s", reading.source, exc)
            return False
        return True

    async def _commit(self, group: list[NewReading], backoff: Backoff) -> None:
        while True:
            try:
                await self.outbox.append(group)
                break
            except OutboxFull:
                # Logged once by the outbox; wait for the uplink to make room.
                self.full_waits += 1
                await asyncio.sleep(backoff.next())
            except OutboxError as exc:
                delay = backoff.next()
                log.error("%s; retrying in %.2fs", exc, delay)
                await asyncio.sleep(delay)
        backoff.reset()
        self.readings_committed += len(group)
        self.committed.set()
