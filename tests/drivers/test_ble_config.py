"""BLE driver configuration and error translation: the cases that must be
refused before a gateway starts, and bleak's errors as Edgeward's."""

from __future__ import annotations

import pytest
from bleak.exc import (
    BleakCharacteristicNotFoundError,
    BleakDBusError,
    BleakDeviceNotFoundError,
    BleakError,
    BleakGATTProtocolError,
)

from edgeward.drivers.ble import BleCharacteristic, BleDevice, BleDriver, DeviceMatch, Mode
from edgeward.drivers.ble.errors import translate
from edgeward.drivers.errors import DeviceProtocolError, DeviceUnavailable, DriverConfigError

TEMPERATURE = "00002a6e-0000-1000-8000-00805f9b34fb"
HUMIDITY = "00002a6f-0000-1000-8000-00805f9b34fb"
ADDRESS_1 = "C0:00:00:00:00:01"
ADDRESS_2 = "C0:00:00:00:00:02"


def device(
    source: str = "t", address: str | None = ADDRESS_1, name: str | None = None
) -> BleDevice:
    match = DeviceMatch(address=address, name=name)
    return BleDevice(match, source, (BleCharacteristic("2a6e"), BleCharacteristic("2a6f")))


def test_short_uuids_and_lowercase_addresses_are_normalised() -> None:
    configured = BleDevice(
        DeviceMatch(address="c0:ff:ee:00:00:01", service_uuid="181A"),
        "env-1",
        (BleCharacteristic("2A6E", mode="poll"),),  # type: ignore[arg-type]
    )
    assert configured.match.address == "C0:FF:EE:00:00:01"
    assert configured.match.service_uuid == "0000181a-0000-1000-8000-00805f9b34fb"
    assert configured.characteristics == (BleCharacteristic(TEMPERATURE, Mode.POLL),)


def test_the_type_languages_read_mode_is_polling() -> None:
    # sync/source_types/spec.py says "notify" or "read"; the driver polls a "read".
    assert BleCharacteristic("2a6e", "read").mode is Mode.POLL  # type: ignore[arg-type]
    assert BleCharacteristic("2a6e", "notify").mode is Mode.NOTIFY  # type: ignore[arg-type]


def test_match_requires_every_given_field() -> None:
    match = DeviceMatch(name="env-1", service_uuid="181a")
    service = "0000181a-0000-1000-8000-00805f9b34fb"
    assert match.matches("C0:00:00:00:00:01", "env-1", [service])
    assert not match.matches("C0:00:00:00:00:01", "env-2", [service])
    assert not match.matches("C0:00:00:00:00:01", "env-1", [])
    assert not match.matches("C0:00:00:00:00:01", None, [service])


@pytest.mark.parametrize(
    ("build", "complaint"),
    [
        (lambda: DeviceMatch(), "address, a name or a service_uuid"),
        (lambda: DeviceMatch(address="C0:00:00:00:00"), "not a Bluetooth address"),
        (lambda: DeviceMatch(service_uuid="heat"), "not a UUID"),
        (lambda: BleCharacteristic("not-a-uuid"), "BLE characteristic: 'not-a-uuid' is not a UUID"),
        (
            lambda: BleCharacteristic("2a6e", poll_interval=0),
            f"characteristic {TEMPERATURE}: poll_interval must be positive",
        ),
        (
            lambda: BleCharacteristic("2a6e", mode="push"),  # type: ignore[arg-type]
            f"characteristic {TEMPERATURE}: mode 'push' is not one of notify, poll",
        ),
        (
            lambda: BleDevice(DeviceMatch(name="x"), "", (BleCharacteristic("2a6e"),)),
            "BLE device name=x: needs a source",
        ),
        (
            lambda: BleDevice(DeviceMatch(name="x"), "s", ()),
            r"BLE device s \(name=x\): no characteristics",
        ),
        (
            lambda: BleDevice(
                DeviceMatch(name="x"),
                "s",
                (
                    BleCharacteristic("2a6e"),
                    BleCharacteristic(HUMIDITY, Mode.POLL),
                    BleCharacteristic("2A6E", Mode.POLL),
                ),
            ),
            rf"BLE device s \(name=x\): characteristic {TEMPERATURE} is listed twice",
        ),
        (lambda: BleDriver([]), "no BLE devices"),
    ],
)
def test_configurations_that_cannot_work_are_refused(build: object, complaint: str) -> None:
    with pytest.raises(DriverConfigError, match=complaint):
        build()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("first", "second", "complaint"),
    [
        # One source on two devices would mix their readings under one name.
        (
            device("t", ADDRESS_1),
            device("t", ADDRESS_2),
            f"BLE devices t (address={ADDRESS_1}) and t (address={ADDRESS_2})"
            " have the same source (t)",
        ),
        # The issue-16 traceback: one entry per characteristic of one sensor.
        (
            device("a", ADDRESS_1),
            device("b", ADDRESS_1),
            f"BLE devices a (address={ADDRESS_1}) and b (address={ADDRESS_1})"
            f" have the same match (address={ADDRESS_1})",
        ),
        # Told apart by name, but one address is one device and one link in BlueZ.
        (
            device("a", ADDRESS_1),
            device("b", ADDRESS_1, name="env"),
            f"BLE devices a (address={ADDRESS_1}) and b (address={ADDRESS_1} name=env)"
            f" have the same address ({ADDRESS_1})",
        ),
        (
            device("a", None, name="env"),
            device("b", None, name="env"),
            "BLE devices a (name=env) and b (name=env) have the same match (name=env)",
        ),
    ],
    ids=["source", "address", "address-with-other-name", "name"],
)
def test_two_devices_that_collide_are_refused_naming_both(
    first: BleDevice, second: BleDevice, complaint: str
) -> None:
    third = device("c", "C0:00:00:00:00:03")
    with pytest.raises(DriverConfigError) as refused:
        BleDriver([first, third, second])
    assert str(refused.value) == f"{complaint}: one device is one entry with one source"


def test_a_source_per_device_whatever_its_characteristics() -> None:
    driver = BleDriver([device("a"), device("b", ADDRESS_2, name="env")])
    assert driver.sources == ("a", "b")
    assert set(driver.health()) == {"a", "b"}
    assert not any(h.available for h in driver.health().values())


def test_gatt_protocol_errors_keep_their_att_code() -> None:
    error = translate(BleakGATTProtocolError(0x02), "ble://C0:00:00:00:00:01/2a6e")
    assert isinstance(error, DeviceProtocolError)
    assert error.code == 0x02
    assert error.device == "ble://C0:00:00:00:00:01/2a6e"


@pytest.mark.parametrize(
    ("raised", "expected", "says"),
    [
        (BleakDeviceNotFoundError("C0:00:00:00:00:01"), DeviceUnavailable, "not found"),
        (
            BleakDBusError("org.bluez.Error.Failed", ["le-connection-abort-by-local"]),
            DeviceUnavailable,
            "org.bluez.Error.Failed",
        ),
        (BleakError("Not connected"), DeviceUnavailable, "Not connected"),
        (TimeoutError(), DeviceUnavailable, "timed out"),
        (FileNotFoundError("no system bus socket"), DeviceUnavailable, "no system bus socket"),
        (BleakCharacteristicNotFoundError("2a6e"), DeviceProtocolError, "no such characteristic"),
    ],
)
def test_bleak_errors_are_translated(raised: Exception, expected: type, says: str) -> None:
    error = translate(raised, "ble://C0:00:00:00:00:01")
    assert type(error) is expected
    assert says in str(error)
