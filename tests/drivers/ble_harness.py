"""What the BLE driver tests share: the peers, a collecting ``emit``, and the
sensor as the driver is told to read it.

The tests run against the real chain: unmodified bleak on a private
dbus-daemon, our BlueZ stand-in driving a bumble central, and bumble
environmental sensors on the same in-memory link (tests/peers/bluez).
Each test runs the driver on its own event loop with ``asyncio.run``; the
peers run on the BleWorld's thread and are changed through it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from edgeward.drivers.base import Reading
from edgeward.drivers.ble import BleCharacteristic, BleDevice, BleDriver, DeviceMatch, Mode, Timing
from edgeward.drivers.simulators.ble_peripheral import (
    ENVIRONMENTAL_SENSING_SERVICE,
    HUMIDITY,
    TEMPERATURE,
    decode,
)
from tests.peers.bluez.world import BleWorld

ADDRESS_A = "C0:00:00:00:00:0A"
ADDRESS_B = "C0:00:00:00:00:0B"
# Short, so that a vanished sensor is noticed and retried within a second.
TIMING = Timing(scan_timeout=0.5, timeout=3.0, backoff_initial=0.05, backoff_max=0.2)
WAIT = 10.0


@contextlib.contextmanager
def ble_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[BleWorld]:
    """The peers started, and bleak pointed at their bus; each test module's ``world``."""
    with BleWorld(tmp_path) as started:
        # bleak opens the system bus lazily, per event loop: set before the first use.
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", started.bus_address)
        yield started


def sensor_device(address: str | None = None, name: str | None = None) -> BleDevice:
    """The sensor as one source, named after how it is found: temperature
    notified, humidity read every 0.1 s."""
    return BleDevice(
        DeviceMatch(address=address, name=name, service_uuid=ENVIRONMENTAL_SENSING_SERVICE),
        source(address or name),
        (
            BleCharacteristic(TEMPERATURE, Mode.NOTIFY),
            BleCharacteristic(HUMIDITY, Mode.POLL, poll_interval=0.1),
        ),
    )


def source(found_by: str | None) -> str:
    return f"env/{found_by}"


class Collector:
    """The ``emit`` the driver is given; tests wait on what it has received."""

    def __init__(self) -> None:
        self.readings: list[Reading] = []
        self._arrived = asyncio.Condition()

    async def emit(self, reading: Reading) -> None:
        async with self._arrived:
            self.readings.append(reading)
            self._arrived.notify_all()

    async def first(self, predicate: Callable[[Reading], bool]) -> Reading:
        """The first reading so far, or yet to come, that ``predicate`` accepts.

        Tests look for values set only once, so "so far" cannot match a stale
        reading; and it must include the past, because a notification can
        reach the driver before the call that caused it returns.
        """
        async with asyncio.timeout(WAIT), self._arrived:
            await self._arrived.wait_for(lambda: any(predicate(r) for r in self.readings))
        return next(r for r in self.readings if predicate(r))


async def until(condition: Callable[[], bool]) -> None:
    """Wait for a state the driver reaches on its own (health flags), with a deadline.

    Health has no change event, so this checks it every 10 ms: a bounded
    wait on a condition, never a sleep standing in for one.
    """
    async with asyncio.timeout(WAIT):
        while not condition():  # noqa: ASYNC110 - health has no change event
            await asyncio.sleep(0.01)


def run_driver(driver: BleDriver, test: Callable[[Collector], Awaitable[None]]) -> None:
    async def main() -> None:
        collector = Collector()
        task = asyncio.create_task(driver.run(collector.emit))
        try:
            await test(collector)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(main())


def origin(address: str, uuid: str) -> str:
    return f"ble://{address}/{uuid}"


def sent(address: str, uuid: str, raw: bytes, of: str | None = None) -> Callable[[Reading], bool]:
    """A reading of ``of`` (default: the sensor at ``address``) holding ``raw``
    from characteristic ``uuid``."""
    expected = source(address) if of is None else of
    return lambda r: r.source == expected and r.origin == origin(address, uuid) and r.raw == raw


def is_temperature(
    value: float, address: str = ADDRESS_A, of: str | None = None
) -> Callable[[Reading], bool]:
    expected = source(address) if of is None else of
    return lambda r: (
        r.source == expected
        and r.origin == origin(address, TEMPERATURE)
        and decode(TEMPERATURE, r.raw) == value
    )
