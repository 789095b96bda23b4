"""The scheduler of one shared serial bus: one request in flight, healthy devices first.

An RS-485 line carries one request at a time, so a unit that never answers
holds the line for its whole timeout. Its requests therefore wait for a
*gap*: the moment just after a healthy device's request has finished, when
that device's next poll is furthest away. Each gap admits one suspect, so
several dead units can't line up behind each other in front of a healthy
one. A healthy device thus never queues behind a dead one, as long as the
dead one's timeout is shorter than the healthy poll period. A suspect still
goes after ``slot_wait`` seconds without any gap, so a bus whose every
device is failing (or whose healthy devices poll rarely) keeps probing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class _Gap:
    """One moment after a healthy request; ``taken`` once a suspect claimed it."""

    def __init__(self) -> None:
        self.opened = asyncio.Event()
        self.taken = False


class BusScheduler:
    def __init__(self, slot_wait: float = 5.0) -> None:
        self.slot_wait = slot_wait
        self._line = asyncio.Lock()
        self._gap = _Gap()

    @contextlib.asynccontextmanager
    async def turn(self, *, suspect: bool, others_healthy: bool) -> AsyncIterator[None]:
        """Hold the line for one request."""
        if suspect and others_healthy:
            await self._claim_gap()
        async with self._line:
            yield
        if not suspect:
            # Open the gap the suspects wait for, and start the next one.
            gap, self._gap = self._gap, _Gap()
            gap.opened.set()

    async def _claim_gap(self) -> None:
        # asyncio.timeout, not wait_for: on 3.11 wait_for can turn a cancellation
        # that races its timeout into TimeoutError (CPython gh-86296), and a
        # swallowed cancellation leaves a poll task that never stops.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.slot_wait):
                while True:
                    gap = self._gap
                    await gap.opened.wait()
                    if not gap.taken:
                        gap.taken = True
                        return
