"""A clean stop ends every poll loop, even when a library swallowed the cancellation.

Regression: a gateway polling Modbus every 10 ms did not stop within 30 s of
SIGTERM. pymodbus awaits each response with ``asyncio.wait_for``, which on
Python 3.11 returns the response instead of raising when the cancellation
races it (CPython gh-86296). The poll loop runs inside a TaskGroup, which
cancels its tasks only once, so the group, and the stop, waited forever.

The driver here does exactly what the racing ``wait_for`` does: it answers a
poll that was cancelled. Timing the race on a real pymodbus client can't be
done on demand.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest

from edgeward.drivers.base import PollingDriver, Reading
from edgeward.gateway.devices.polling import PollCoordinator
from edgeward.gateway.runtime.supervisor import Supervisor

STOP_WITHIN = 2.0


class AnswersWhenCancelled(PollingDriver):
    """Swallows the first cancellation that reaches ``poll`` and answers instead."""

    def __init__(self) -> None:
        self.polling = asyncio.Event()
        self.swallowed = 0
        self.closed = False

    async def open(self) -> None:
        pass

    async def poll(self, source: str) -> Reading:
        self.polling.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            if self.swallowed:
                raise
            self.swallowed += 1
        return Reading(source, b"\x00", datetime.now(UTC), "test://swallow")

    async def close(self) -> None:
        self.closed = True

    @property
    def sources(self) -> tuple[str, ...]:
        return ("meter-1",)


class TakesEverything:
    def __init__(self) -> None:
        self.taken: list[Reading] = []

    async def take(self, reading: Reading) -> None:
        self.taken.append(reading)


def test_stop_ends_a_poll_loop_whose_cancellation_was_swallowed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="edgeward.gateway.runtime.supervisor")

    async def main() -> tuple[AnswersWhenCancelled, TakesEverything]:
        driver, gate = AnswersWhenCancelled(), TakesEverything()
        coordinator = PollCoordinator(driver, {"meter-1": 0.01}, gate)
        pollers = Supervisor()
        pollers.start("poll meter-1", coordinator.run)
        async with asyncio.timeout(5):
            await driver.polling.wait()
        # Not asyncio.timeout around stop: it would cancel stop itself, not the poll loop.
        await pollers.stop(within=STOP_WITHIN)
        return driver, gate

    driver, gate = asyncio.run(main())
    assert driver.swallowed == 1, "the poll did swallow the cancellation"
    assert len(gate.taken) == 1, "the swallowed poll's answer was still taken"
    assert driver.closed, "the poll loop ended, so the driver was closed"
    assert "did not stop" not in caplog.text
