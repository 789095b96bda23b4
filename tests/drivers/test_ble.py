"""The BLE driver keeping devices connected, against the real chain (see
tests/drivers/ble_harness.py): reconnection, discovery, several devices,
cancellation, a missing BlueZ or adapter."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgeward.drivers.ble import BleCharacteristic, BleDevice, BleDriver, DeviceMatch
from edgeward.drivers.simulators.ble_peripheral import BATTERY_SERVICE, TEMPERATURE
from tests.drivers.ble_harness import (
    ADDRESS_A,
    ADDRESS_B,
    TIMING,
    Collector,
    ble_world,
    is_temperature,
    run_driver,
    sensor_device,
    source,
    until,
)
from tests.peers.bluez.bus import PrivateBus
from tests.peers.bluez.world import BleWorld


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[BleWorld]:
    with ble_world(tmp_path, monkeypatch) as started:
        yield started


def test_reconnects_after_the_sensor_drops_the_link(world: BleWorld) -> None:
    sensor = world.add_sensor(ADDRESS_A, "env-a")
    driver = BleDriver([sensor_device(address=ADDRESS_A)], timing=TIMING)

    async def test(collector: Collector) -> None:
        health = driver.health()[source(ADDRESS_A)]
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
        health = driver.health()[source(ADDRESS_A)]
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
    # ...but one line when it went, one when it came back, naming the source.
    went = [m for m in messages if "is unavailable" in m]
    back = [m for m in messages if "is back" in m]
    assert len(went) == 1 and len(back) == 1
    assert went[0].startswith(f"BLE device {source(ADDRESS_A)} (address={ADDRESS_A} ")


def test_two_sensors_at_once_and_one_missing_does_not_stop_the_other(world: BleWorld) -> None:
    first = world.add_sensor(ADDRESS_A, "env-a", temperature=1.0)
    second = world.add_sensor(ADDRESS_B, "env-b", temperature=2.0)
    driver = BleDriver(
        [sensor_device(address=ADDRESS_A), sensor_device(name="env-b")], timing=TIMING
    )
    assert driver.sources == (source(ADDRESS_A), source("env-b"))

    async def test(collector: Collector) -> None:
        a = driver.health()[source(ADDRESS_A)]
        b = driver.health()[source("env-b")]
        await until(lambda: a.available and b.available)

        async def both() -> None:
            await first.set_temperature(11.0)
            await second.set_temperature(22.0)

        await world.run_async(both)
        # Each device's values are readings of its own source, from its own address.
        await collector.first(is_temperature(11.0))
        await collector.first(is_temperature(22.0, ADDRESS_B, of=source("env-b")))

        await world.run_async(first.vanish)
        await until(lambda: not a.available)
        # While the driver scans for the missing one, the other reconnects.
        before = b.failures
        await world.run_async(second.drop_connections)
        await until(lambda: b.failures > before)
        await until(lambda: b.available)
        await world.run_async(lambda: second.set_temperature(23.5))
        await collector.first(is_temperature(23.5, ADDRESS_B, of=source("env-b")))
        assert b.available and not a.available

    run_driver(driver, test)


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
    device = BleDevice(match, "wanted", (BleCharacteristic(TEMPERATURE),))
    driver = BleDriver([device], timing=TIMING)

    async def test(collector: Collector) -> None:
        health = driver.health()["wanted"]
        await until(lambda: health.consecutive_failures >= 2)
        assert not health.available
        assert "not seen advertising" in (health.last_error or "")
        assert collector.readings == []

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
        await until(lambda: driver.health()[source(ADDRESS_A)].available)
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
            health = driver.health()[source(ADDRESS_A)]
            await until(lambda: health.consecutive_failures >= 3)
            assert not health.available
            assert "org.freedesktop.DBus.Error.ServiceUnknown" in (health.last_error or "")

        run_driver(driver, test)


def test_a_named_adapter_is_the_one_used(world: BleWorld) -> None:
    world.add_sensor(ADDRESS_A, "env-a")
    present = BleDriver([sensor_device(address=ADDRESS_A)], adapter="hci0", timing=TIMING)
    absent = BleDriver([sensor_device(address=ADDRESS_A)], adapter="hci1", timing=TIMING)

    async def on_hci0(collector: Collector) -> None:
        await until(lambda: present.health()[source(ADDRESS_A)].available)

    async def on_hci1(collector: Collector) -> None:
        health = absent.health()[source(ADDRESS_A)]
        await until(lambda: health.consecutive_failures >= 2)
        assert "adapter 'hci1' not found" in (health.last_error or "")

    run_driver(present, on_hci0)
    run_driver(absent, on_hci1)
