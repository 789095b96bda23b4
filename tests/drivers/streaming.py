"""Running a streaming driver in a test, and waiting on its plain-data health."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from edgeward.drivers.base import Reading, StreamingDriver


async def until(condition: Callable[[], bool], what: str, wait: float = 15.0) -> None:
    """Wait for ``condition`` with a deadline; health is plain data, with no event to await."""
    try:
        async with asyncio.timeout(wait):
            while not condition():  # noqa: ASYNC110
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"timed out after {wait}s waiting for {what}") from None


def run_driver(driver: StreamingDriver, test: Callable[[list[Reading]], Awaitable[None]]) -> None:
    """Run ``driver`` collecting its readings while ``test`` runs; always stop it."""

    async def main() -> None:
        readings: list[Reading] = []

        async def emit(reading: Reading) -> None:
            readings.append(reading)

        task = asyncio.create_task(driver.run(emit))
        try:
            await test(readings)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
