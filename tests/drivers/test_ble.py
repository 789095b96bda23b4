"""The BLE driver against the real chain: unmodified bleak on a private
dbus-daemon, our BlueZ stand-in driving a bumble central, and bumble
environmental sensors on the same in-memory link (tests/peers/bluez).

Each test runs the driver on its own event loop with ``asyncio.run``; the
peers run on the BleWorld's thread and are changed through it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
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
from tests.peers.bluez.bus import PrivateBus
from tests.peers.bluez.world import BleWorld

ADDRESS_A = "C0:00:00:00:00:0A"
ADDRESS_B = "C0:00:00:00:00:0B"
# Short, so that a vanished sensor is noticed and retried within a second.
TIMING = Timing(scan_timeout=0.5, timeout=3.0, backoff_initial=0.05, backoff_max=0.2)
WAIT = 10.0


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[BleWorld]:
    with BleWorld(tmp_path) as started:
        # bleak opens the system bus lazily, per event loop: set before the first use.
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", started.bus_address)
        yield started


def sensor_device(address: str | None = None, name: str | None = None) -> BleDevice:
    prefix = name or address
    return BleDevice(
        DeviceMatch(address=address, name=name, service_uuid=ENVIRONMENTAL_SENSING_SERVICE),
        (
            BleCharacteristic(f"{prefix}/temperature", TEMPERATURE, Mode.NOTIFY, length=2),
            BleCharacteristic(
                f"{prefix}/humidity", HUMIDITY, Mode.POLL, poll_interval=0.1, length=2
            ),
        ),
    )


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


def is_temperature(
    value: float, source: str = f"{ADDRESS_A}/temperature"
) -> Callable[[Reading], bool]:
    return lambda r: r.source == source and decode(TEMPERATURE, r.raw) == value


def test_notified_and_read_values_arrive_exactly(world: BleWorld) -> None:
    sensor = world.add_sensor(ADDRESS_A, "env-a", temperature=20.0, humidity=40.25)
    driver = BleDriver([sensor_device(address=ADDRESS_A)], timing=TIMING)

    async def test(collector: Collector) -> None:
        humidity = await collector.first(lambda r: r.source.endswith("humidity"))
        assert decode(HUMIDITY, humidity.raw) == 40.25
        assert humidity.origin == f"ble://{ADDRESS_A}/{HUMIDITY}"
        assert humidity.time.utcoffset() == timedelta(0)
        assert humidity.time <= datetime.now(UTC)
        await until(lambda: driver.health()[f"{ADDRESS_A}/temperature"].available)

        await world.run_async(lambda: sensor.set_temperature(-12.34))
        temperature = await collector.first(is_temperature(-12.34))
        assert temperature.raw == b"\x2e\xfb"  # -1234, sint16 little-endian
        assert temperature.origin == f"ble://{ADDRESS_A}/{TEMPERATURE}"

        await world.run_async(lambda: sensor.set_humidity(99.99))
        changed = await collector.first(
            lambda r: r.source.endswith("humidity") and decode(HUMIDITY, r.raw) == 99.99
        )
        assert changed.raw == (9999).to_bytes(2, "little")
        health = driver.health()[f"{ADDRESS_A}/humidity"]
        assert health.available and health.reads >= 2 and health.malformed == 0

    run_driver(driver, test)


def test_wrong_length_notification_is_counted_and_dropped(world: BleWorld) -> None:
    sensor = world.add_sensor(ADDRESS_A, "env-a")
    driver = BleDriver([sensor_device(address=ADDRESS_A)], timing=TIMING)

    async def test(collector: Collector) -> None:
        source = f"{ADDRESS_A}/temperature"
        await until(lambda: driver.health()[source].available)

        async def garbage_then_good() -> None:
            await sensor.notify_raw(TEMPERATURE, b"\x01\x02\x03")
            await sensor.notify_raw(TEMPERATURE, b"")
            await sensor.set_temperature(5.5)

        await world.run_async(garbage_then_good)
        # Notifications arrive in order: once 5.5 is here, the garbage was handled.
        await collector.first(is_temperature(5.5))
        health = driver.health()[source]
        assert health.malformed == 2
        assert health.available
        assert all(len(r.raw) == 2 for r in collector.readings)

    run_driver(driver, test)


def test_reconnects_after_the_sensor_drops_the_link(world: BleWorld) -> None:
    sensor = world.add_sensor(ADDRESS_A, "env-a")
    driver = BleDriver([sensor_device(address=ADDRESS_A)], timing=TIMING)

    async def test(collector: Collector) -> None:
        health = driver.health()[f"{ADDRESS_A}/temperature"]
        await until(lambda: health.available)
        before = health.failures
        await world.run_async(sensor.drop_connections)
        # The total, not the flag: the driver may be back before a check sees it down.
        await until(lambda: health.failures > before)
        await until(lambda: health.available)
        # A fresh subscription, not the old one: the new value gets through.
        await world.run_async(lambda: sensor.set_temperature(31.0))
        await collector.first(is_temperature(31.0))

    run_driver(driver, test)


def test_reconnects_when_a_vanished_sensor_returns_and_logs_once_each_way(
    world: BleWorld, caplog: pytest.LogCaptureFixture
) -> None:
    sensor = world.add_sensor(ADDRESS_A, "env-a")
    driver = BleDriver([sensor_device(address=ADDRESS_A)], timing=TIMING)
    caplog.set_level(logging.INFO, logger="edgeward.drivers.ble")

    async def test(collector: Collector) -> None:
        health = driver.health()[f"{ADDRESS_A}/temperature"]
        await until(lambda: health.available)
        await world.run_async(sensor.vanish)
        # Several failed attempts (disconnect, then scans that find nothing)...
        await until(lambda: health.consecutive_failures >= 3)
        assert not health.available
        assert "not seen advertising" in (health.last_error or "")
        await world.run_async(sensor.appear)
        await until(lambda: health.available)
        await world.run_async(lambda: sensor.set_temperature(-0.5))
        await collector.first(is_temperature(-0.5))

    run_driver(driver, test)
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    # ...but one line when it went, one when it came back.
    assert len([m for m in messages if "is unavailable" in m]) == 1
    assert len([m for m in messages if "is back" in m]) == 1


def test_two_sensors_at_once_and_one_missing_does_not_stop_the_other(world: BleWorld) -> None:
    first = world.add_sensor(ADDRESS_A, "env-a", temperature=1.0)
    second = world.add_sensor(ADDRESS_B, "env-b", temperature=2.0)
    driver = BleDriver(
        [sensor_device(address=ADDRESS_A), sensor_device(name="env-b")], timing=TIMING
    )

    async def test(collector: Collector) -> None:
        a = driver.health()[f"{ADDRESS_A}/temperature"]
        b = driver.health()["env-b/temperature"]
        await until(lambda: a.available and b.available)

        async def both() -> None:
            await first.set_temperature(11.0)
            await second.set_temperature(22.0)

        await world.run_async(both)
        reading_a = await collector.first(is_temperature(11.0))
        reading_b = await collector.first(
            lambda r: r.source == "env-b/temperature" and decode(TEMPERATURE, r.raw) == 22.0
        )
        assert reading_a.origin == f"ble://{ADDRESS_A}/{TEMPERATURE}"
        assert reading_b.origin == f"ble://{ADDRESS_B}/{TEMPERATURE}"

        await world.run_async(first.vanish)
        await until(lambda: not a.available)
        # While the driver scans for the missing one, the other reconnects.
        before = b.failures
        await world.run_async(second.drop_connections)
        await until(lambda: b.failures > before)
        await until(lambda: b.available)
        await world.run_async(lambda: second.set_temperature(23.5))
        await collector.first(
            lambda r: r.source == "env-b/temperature" and decode(TEMPERATURE, r.raw) == 23.5
        )
        assert b.available and not a.available

    run_driver(driver, test)


BATTERY_SERVICE = "0000180f-0000-1000-8000-00805f9b34fb"


@pytest.mark.parametrize(
    "match",
    [
        DeviceMatch(name="not-there"),
        DeviceMatch(address="C0:00:00:00:00:FF"),
        # The right name, but it does not advertise this service: every field must match.
        DeviceMatch(name="env-a", service_uuid=BATTERY_SERVICE),
    ],
    ids=["name", "address", "service"],
)
def test_a_device_no_advertiser_matches_stays_unavailable(
    world: BleWorld, match: DeviceMatch
) -> None:
    world.add_sensor(ADDRESS_A, "env-a")
    device = BleDevice(match, (BleCharacteristic("wanted/temperature", TEMPERATURE),))
    driver = BleDriver([device], timing=TIMING)

    async def test(collector: Collector) -> None:
        health = driver.health()["wanted/temperature"]
        await until(lambda: health.consecutive_failures >= 2)
        assert not health.available
        assert "not seen advertising" in (health.last_error or "")
        assert collector.readings == []

    run_driver(driver, test)


def test_a_characteristic_the_sensor_lacks_is_named_in_health(world: BleWorld) -> None:
    world.add_sensor(ADDRESS_A, "env-a")
    missing = "00002a19-0000-1000-8000-00805f9b34fb"  # Battery Level: not served
    driver = BleDriver(
        [
            BleDevice(
                DeviceMatch(address=ADDRESS_A),
                (
                    BleCharacteristic("env-a/temperature", TEMPERATURE),
                    BleCharacteristic("env-a/battery", missing, Mode.POLL),
                ),
            )
        ],
        timing=TIMING,
    )

    async def test(collector: Collector) -> None:
        health = driver.health()["env-a/battery"]
        await until(lambda: health.consecutive_failures >= 2)
        assert not health.available
        assert f"has no characteristic {missing}" in (health.last_error or "")
        assert not driver.health()["env-a/temperature"].available

    run_driver(driver, test)


def test_cancelling_the_driver_disconnects_the_sensor(world: BleWorld) -> None:
    world.add_sensor(ADDRESS_A, "env-a")
    driver = BleDriver([sensor_device(address=ADDRESS_A)], timing=TIMING)

    async def connected_in_bluez() -> bool:
        async def read() -> bool:
            assert world.standin is not None
            return world.standin.devices[ADDRESS_A].connected

        return await world.run_async(read)

    async def main() -> None:
        task = asyncio.create_task(driver.run(Collector().emit))
        await until(lambda: driver.health()[f"{ADDRESS_A}/temperature"].available)
        assert await connected_in_bluez()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Checked before the loop closes: at loop shutdown bleak would send a
        # Disconnect of its own, which must not be what ends the link.
        # bleak's disconnect waits for BlueZ to report Connected=false.
        assert not await connected_in_bluez()

    asyncio.run(main())


def test_without_bluez_on_the_bus_devices_are_unavailable_and_the_driver_keeps_trying(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A system bus with no org.bluez on it: bluetoothd stopped or not installed.
    with PrivateBus(tmp_path) as bus:
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", bus.address)
        driver = BleDriver([sensor_device(address=ADDRESS_A)], timing=TIMING)

        async def test(collector: Collector) -> None:
            health = driver.health()[f"{ADDRESS_A}/temperature"]
            await until(lambda: health.consecutive_failures >= 3)
            assert not health.available
            assert "org.freedesktop.DBus.Error.ServiceUnknown" in (health.last_error or "")

        run_driver(driver, test)


def test_a_named_adapter_is_the_one_used(world: BleWorld) -> None:
    world.add_sensor(ADDRESS_A, "env-a")
    present = BleDriver([sensor_device(address=ADDRESS_A)], adapter="hci0", timing=TIMING)
    absent = BleDriver([sensor_device(address=ADDRESS_A)], adapter="hci1", timing=TIMING)

    async def on_hci0(collector: Collector) -> None:
        await until(lambda: present.health()[f"{ADDRESS_A}/temperature"].available)

    async def on_hci1(collector: Collector) -> None:
        health = absent.health()[f"{ADDRESS_A}/temperature"]
        await until(lambda: health.consecutive_failures >= 2)
        assert "adapter 'hci1' not found" in (health.last_error or "")

    run_driver(present, on_hci0)
    run_driver(absent, on_hci1)
