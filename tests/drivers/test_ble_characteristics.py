"""One BLE device, one data source, several characteristics: what each
sends reaches admission as a reading of the device's source, named by its
origin, byte for byte; against the real chain (tests/drivers/ble_harness.py)
and the simulator's standard formats."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edgeward.drivers.ble import BleCharacteristic, BleDevice, BleDriver, DeviceMatch, Mode
from edgeward.drivers.simulators.ble_peripheral import (
    BATTERY_LEVEL,
    BATTERY_SERVICE,
    ELEVATION,
    HUMIDITY,
    PRESSURE,
    TEMPERATURE,
    EnvironmentalSensor,
    decode,
    encode,
)
from tests.drivers.ble_harness import (
    ADDRESS_A,
    TIMING,
    Collector,
    ble_world,
    is_temperature,
    origin,
    run_driver,
    sensor_device,
    sent,
    source,
    until,
)
from tests.peers.bluez.world import BleWorld


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[BleWorld]:
    with ble_world(tmp_path, monkeypatch) as started:
        yield started


def test_one_source_takes_notified_and_read_values_of_several_characteristics(
    world: BleWorld,
) -> None:
    sensor = world.add_sensor(ADDRESS_A, "env-a", temperature=20.0, humidity=40.25)
    driver = BleDriver([sensor_device(address=ADDRESS_A)], timing=TIMING)
    assert driver.sources == (source(ADDRESS_A),)

    async def test(collector: Collector) -> None:
        # Read, not notified: humidity is polled, and the sensor was never told to send it.
        humidity = await collector.first(sent(ADDRESS_A, HUMIDITY, b"\xb9\x0f"))  # 4025
        assert humidity.time.utcoffset() == timedelta(0)
        assert humidity.time <= datetime.now(UTC)
        await until(lambda: driver.health()[source(ADDRESS_A)].available)

        await world.run_async(lambda: sensor.set_temperature(-12.34))
        await collector.first(sent(ADDRESS_A, TEMPERATURE, b"\x2e\xfb"))  # -1234, sint16 LE

        # The polled value changes on the next period, without a notification.
        await world.run_async(lambda: sensor.set_humidity(99.99))
        await collector.first(sent(ADDRESS_A, HUMIDITY, (9999).to_bytes(2, "little")))
        assert {r.source for r in collector.readings} == {source(ADDRESS_A)}
        assert {r.origin for r in collector.readings} == {
            origin(ADDRESS_A, TEMPERATURE),
            origin(ADDRESS_A, HUMIDITY),
        }
        health = driver.health()[source(ADDRESS_A)]
        assert health.available and health.reads >= 3 and health.malformed == 0

    run_driver(driver, test)


def add_standard_sensor(world: BleWorld, address: str) -> EnvironmentalSensor:
    """A sensor serving all five standard characteristics, below zero where it can be."""

    async def create() -> EnvironmentalSensor:
        assert world.link is not None
        sensor = EnvironmentalSensor(
            world.link,
            address,
            "env-std",
            temperature=-40.0,
            humidity=0.0,
            pressure=101325.0,
            elevation=-12.5,
            battery_level=87,
        )
        await sensor.start()
        return sensor

    return world.run(create)


def test_standard_characteristics_arrive_as_sent_including_negative_values(
    world: BleWorld,
) -> None:
    sensor = add_standard_sensor(world, ADDRESS_A)
    device = BleDevice(
        DeviceMatch(address=ADDRESS_A, service_uuid=BATTERY_SERVICE),
        "env-std",
        (
            BleCharacteristic(TEMPERATURE, Mode.NOTIFY),
            BleCharacteristic(ELEVATION, Mode.NOTIFY),
            BleCharacteristic(HUMIDITY, "read", poll_interval=0.1),  # type: ignore[arg-type]
            BleCharacteristic(PRESSURE, Mode.POLL, poll_interval=0.1),
            BleCharacteristic("2a19", Mode.POLL, poll_interval=0.1),
        ),
    )
    driver = BleDriver([device], timing=TIMING)

    async def test(collector: Collector) -> None:
        # Polled: their initial values, the bytes the GATT Specification Supplement gives.
        await collector.first(sent(ADDRESS_A, HUMIDITY, b"\x00\x00", of="env-std"))
        await collector.first(sent(ADDRESS_A, PRESSURE, b"\x02\x76\x0f\x00", of="env-std"))
        await collector.first(sent(ADDRESS_A, BATTERY_LEVEL, b"\x57", of="env-std"))  # 87 %
        await until(lambda: driver.health()["env-std"].available)

        async def below_zero() -> None:
            await sensor.set(TEMPERATURE, -40.0)  # -4000, sint16
            await sensor.set(ELEVATION, -12.5)  # -1250, sint24
            await sensor.set(TEMPERATURE, -0.01)  # -1: every bit set
            await sensor.set_raw(TEMPERATURE, b"\x00\x80")  # 0x8000: "value is not known"

        await world.run_async(below_zero)
        for uuid, raw in [
            (TEMPERATURE, b"\x60\xf0"),
            (ELEVATION, b"\x1e\xfb\xff"),
            (TEMPERATURE, b"\xff\xff"),
            (TEMPERATURE, b"\x00\x80"),
        ]:
            await collector.first(sent(ADDRESS_A, uuid, raw, of="env-std"))
        notified = [r.raw for r in collector.readings if r.origin == origin(ADDRESS_A, TEMPERATURE)]
        assert notified == [b"\x60\xf0", b"\xff\xff", b"\x00\x80"]
        # The largest pressure a uint32 of 0.1 Pa holds, read on the next period.
        await world.run_async(lambda: sensor.set(PRESSURE, 429496729.5))
        await collector.first(sent(ADDRESS_A, PRESSURE, b"\xff\xff\xff\xff", of="env-std"))

    run_driver(driver, test)


def test_garbage_values_are_delivered_as_sent_for_admission_to_judge(world: BleWorld) -> None:
    sensor = world.add_sensor(ADDRESS_A, "env-a")
    driver = BleDriver([sensor_device(address=ADDRESS_A)], timing=TIMING)

    async def test(collector: Collector) -> None:
        health = driver.health()[source(ADDRESS_A)]
        await until(lambda: health.available)

        async def garbage_then_good() -> None:
            await sensor.notify_raw(TEMPERATURE, b"\x01\x02\x03")
            await sensor.notify_raw(TEMPERATURE, b"")
            await sensor.set_temperature(5.5)

        await world.run_async(garbage_then_good)
        # Notifications arrive in order: once 5.5 is here, the garbage was handled.
        await collector.first(is_temperature(5.5))
        notified = [r.raw for r in collector.readings if r.origin == origin(ADDRESS_A, TEMPERATURE)]
        # Only the type's layout knows a value's length; the driver judges no bytes.
        assert notified == [b"\x01\x02\x03", b"", b"\x26\x02"]
        assert health.available and health.malformed == 0

    run_driver(driver, test)


def test_characteristics_the_sensor_lacks_are_named_together_in_health(
    world: BleWorld, caplog: pytest.LogCaptureFixture
) -> None:
    world.add_sensor(ADDRESS_A, "env-a")  # temperature and humidity only
    caplog.set_level(logging.INFO, logger="edgeward.drivers.ble")
    driver = BleDriver(
        [
            BleDevice(
                DeviceMatch(address=ADDRESS_A),
                "env-a",
                (
                    BleCharacteristic(TEMPERATURE),
                    BleCharacteristic(BATTERY_LEVEL, Mode.POLL),
                    BleCharacteristic(PRESSURE),
                ),
            )
        ],
        timing=TIMING,
    )

    async def test(collector: Collector) -> None:
        health = driver.health()["env-a"]
        await until(lambda: health.consecutive_failures >= 3)
        assert not health.available
        assert health.last_error == (
            f"ble://{ADDRESS_A}: has no characteristic {BATTERY_LEVEL}, {PRESSURE} (source env-a)"
        )
        assert collector.readings == []

    run_driver(driver, test)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    # Logged once, however many connections found it missing.
    assert len([m for m in warnings if "has no characteristic" in m]) == 1


@pytest.mark.parametrize(
    ("uuid", "value", "raw"),
    [
        (TEMPERATURE, -273.15, b"\x4d\x95"),  # -27315, sint16
        (TEMPERATURE, 327.67, b"\xff\x7f"),
        (HUMIDITY, 100.0, b"\x10\x27"),  # 10000, uint16
        (PRESSURE, 101325.3, b"\x05\x76\x0f\x00"),  # 1013253, uint32
        (ELEVATION, -83886.08, b"\x00\x00\x80"),  # the least sint24
        (BATTERY_LEVEL, 100, b"\x64"),
    ],
)
def test_the_simulator_encodes_standard_formats_exactly(
    uuid: str, value: float, raw: bytes
) -> None:
    assert encode(uuid, value) == raw
    assert decode(uuid, raw) == value


@pytest.mark.parametrize(
    ("uuid", "value"),
    [(TEMPERATURE, 327.68), (HUMIDITY, -0.01), (ELEVATION, 83886.08), (BATTERY_LEVEL, 256)],
)
def test_the_simulator_refuses_values_its_format_cannot_hold(uuid: str, value: float) -> None:
    with pytest.raises(OverflowError):
        encode(uuid, value)
