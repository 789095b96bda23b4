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


def device(source: str = "t", address: str = "C0:00:00:00:00:01") -> BleDevice:
    return BleDevice(DeviceMatch(address=address), (BleCharacteristic(source, "2a6e"),))


def test_short_uuids_and_lowercase_addresses_are_normalised() -> None:
    configured = BleDevice(
        DeviceMatch(address="c0:ff:ee:00:00:01", service_uuid="181A"),
        (BleCharacteristic("t", "2A6E", mode="poll", length=2),),  # type: ignore[arg-type]
    )
    assert configured.match.address == "C0:FF:EE:00:00:01"
    assert configured.match.service_uuid == "0000181a-0000-1000-8000-00805f9b34fb"
    assert configured.characteristics[0].uuid == TEMPERATURE
    assert configured.characteristics[0].mode is Mode.POLL


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
        (lambda: BleCharacteristic("t", "not-a-uuid"), "not a UUID"),
        (lambda: BleCharacteristic("t", "2a6e", poll_interval=0), "poll_interval"),
        (lambda: BleCharacteristic("t", "2a6e", length=0), "length"),
        (lambda: BleCharacteristic("t", "2a6e", length=513), "length"),
        (lambda: BleCharacteristic("", "2a6e"), "needs a source"),
        (lambda: BleCharacteristic("t", "2a6e", mode="push"), "push"),  # type: ignore[arg-type]
        (lambda: BleDevice(DeviceMatch(name="x"), ()), "no characteristics"),
        (
            lambda: BleDevice(
                DeviceMatch(name="x"),
                (BleCharacteristic("a", "2a6e"), BleCharacteristic("b", "2A6E")),
            ),
            "listed twice",
        ),
        (lambda: BleDriver([]), "no BLE devices"),
        (lambda: BleDriver([device("t"), device("t", "C0:00:00:00:00:02")]), "source"),
        (lambda: BleDriver([device("a"), device("b")]), "same match"),
    ],
)
def test_configurations_that_cannot_work_are_refused(build: object, complaint: str) -> None:
    with pytest.raises(DriverConfigError, match=complaint):
        build()  # type: ignore[operator]


def test_sources_are_every_characteristic_of_every_device() -> None:
    driver = BleDriver([device("a"), device("b", "C0:00:00:00:00:02")])
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
