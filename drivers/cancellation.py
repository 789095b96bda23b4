"""Honour a cancellation that a library swallowed.

On Python 3.11, ``asyncio.wait_for`` returns its result instead of raising
when a cancellation races that result (CPython gh-86296). pymodbus awaits
every response that way, so a poll loop cancelled at the wrong instant
carries on. A supervisor can cancel again, but a task inside an
``asyncio.TaskGroup`` is cancelled only once when the group aborts, and the
group then waits for it forever: a clean stop hangs.

The task still remembers the request (``Task.cancelling()`` stays above zero
until someone uncancels it; ``asyncio.timeout`` uncancels its own), so a loop
that calls :func:`raise_if_cancelling` once per turn ends at its next turn.

It lives with the drivers, at the bottom of the stack, so that drivers and
the gateway share one.
"""

from __future__ import annotations

import asyncio


def raise_if_cancelling() -> None:
    """Raise ``CancelledError`` if the current task was asked to stop and still runs."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


__all__ = ["raise_if_cancelling"]
