"""Supervision: a crashed task is logged and restarted with backoff, never silently dead."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from edgeward.drivers.backoff import Backoff

log = logging.getLogger(__name__)

TaskFactory = Callable[[], Awaitable[None]]

# A task that ran this long before failing is considered to have recovered in
# between, so its next failure starts the backoff from the beginning again.
HEALTHY_RUN_SECONDS = 60.0
STOP_TIMEOUT = 5.0
RECANCEL_INTERVAL = 0.2


class Supervisor:
    def __init__(self, *, backoff_initial: float = 0.5, backoff_max: float = 30.0) -> None:
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.restarts: dict[str, int] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, name: str, factory: TaskFactory) -> None:
        if name in self._tasks:
            raise ValueError(f"task {name!r} is already supervised")
        self.restarts[name] = 0
        self._tasks[name] = asyncio.create_task(self._keep_running(name, factory), name=name)

    async def _keep_running(self, name: str, factory: TaskFactory) -> None:
        backoff = Backoff(self.backoff_initial, self.backoff_max)
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            outcome = "returned unexpectedly"
            try:
                await factory()
            except asyncio.CancelledError:
                raise
            except Exception:
                outcome = "crashed"
                log.exception("task %s crashed", name)
            if loop.time() - started > HEALTHY_RUN_SECONDS:
                backoff.reset()
            delay = backoff.next()
            self.restarts[name] += 1
            log.error("task %s %s; restart %d in %.1fs", name, outcome, self.restarts[name], delay)
            await asyncio.sleep(delay)

    async def stop(self, within: float = STOP_TIMEOUT) -> None:
        """Cancel every task, and cancel again until each has ended.

        On Python 3.11 ``asyncio.wait_for`` (inside libraries such as pymodbus)
        can swallow a cancellation that races the result it was waiting for
        (cpython gh-86296); the task then carries on. Cancelling again at its
        next await ends it, so a clean stop never hangs on one such race.
        """
        await _cancel(set(self._tasks.values()), within)
        self._tasks.clear()

    async def stop_task(self, name: str, within: float = STOP_TIMEOUT) -> None:
        """Stop one task (as :meth:`stop` does), so that it can be started anew."""
        task = self._tasks.pop(name, None)
        if task is not None:
            await _cancel({task}, within)


async def _cancel(pending: set[asyncio.Task[None]], within: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=RECANCEL_INTERVAL)
        if pending and loop.time() > deadline:
            names = sorted(task.get_name() for task in pending)
            log.error("tasks %s did not stop within %.0fs; leaving them", names, within)
            break
