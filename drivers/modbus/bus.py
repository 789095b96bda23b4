"""The scheduler of one shared serial bus: one request in flight, healthy devices first.

An RS-485 line carries one request at a time, so a unit that never answers
holds the line for its whole timeout. Its requests therefore wait for a
*slot*: the moment just after a healthy device's request has finished, when
that device's next poll is furthest away. A healthy device thus never queues
behind a dead one, as long as the dead one's timeout is shorter than the
healthy poll period. A suspect still goes after ``slot_wait`` seconds without
any healthy traffic, so a bus whose every device is failing keeps probing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class BusScheduler:
    def __init__(self, slot_wait: float = 5.0) -> None:
        self.slot_wait = slot_wait
        self._line = asyncio.Lock()
        self._slot = asyncio.Event()

    @contextlib.asynccontextmanager
    async def turn(self, *, suspect: bool, others_healthy: bool) -> AsyncIterator[None]:
        """Hold the line for one request."""
        if suspect and others_healthy:
            slot = self._slot
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(slot.wait(), self.slot_wait)
        async with self._line:
            yield
        if not suspect:
            # Wake the suspects waiting for this gap, and start a new gap for later ones.
            self._slot.set()
            self._slot = asyncio.Event()
