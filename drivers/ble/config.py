"""What the BLE driver is told to read: which devices, found how, each read
as one data source, and which of its GATT characteristics, by notification
or by polled read.

A device is one data source (issue 16): its data-source type lists the
characteristics and decodes each by its own layout, chosen by the UUID at
the end of the reading's origin. So the driver tags every value with the
device's source and the characteristic it came from, and leaves what the
bytes hold to the type. Everything is checked here, once, so a mistake
stops the gateway before it starts rather than at the first read.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from bleak.uuids import normalize_uuid_str

from edgeward.drivers.errors import DriverConfigError

ADDRESS = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){5}$")


class Mode(enum.StrEnum):
    NOTIFY = "notify"  # the device sends each new value; nothing to schedule
    POLL = "poll"  # read on a period, for characteristics that only allow reads

    @classmethod
    def _missing_(cls, value: object) -> Mode | None:
        # The type language (sync/source_types/spec.py, Characteristic.mode)
        # says "read" for what the driver calls polling: accept its word.
        return cls.POLL if value == "read" else None


def normalize_uuid(value: str, where: str) -> str:
    """128-bit lowercase, as BlueZ and bleak name UUIDs; ``"2a6e"`` is accepted."""
    try:
        return normalize_uuid_str(value)
    except ValueError as exc:
        raise DriverConfigError(f"{where}: {value!r} is not a UUID") from exc


@dataclass(frozen=True, slots=True)
class BleCharacteristic:
    """One characteristic of a device, and how its values are taken.

    There is no expected length: the type's layout decides what a value
    holds (standard formats with flags vary in length), and admission
    refuses, counts and names a value that does not fit.
    """

    uuid: str
    mode: Mode = Mode.NOTIFY
    poll_interval: float = 5.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "uuid", normalize_uuid(self.uuid, "BLE characteristic"))
        try:
            object.__setattr__(self, "mode", Mode(self.mode))
        except ValueError as exc:
            modes = ", ".join(Mode)
            raise DriverConfigError(
                f"characteristic {self.uuid}: mode {self.mode!r} is not one of {modes} (or read)"
            ) from exc
        if not self.poll_interval > 0:
            raise DriverConfigError(f"characteristic {self.uuid}: poll_interval must be positive")


@dataclass(frozen=True, slots=True)
class DeviceMatch:
    """How to recognise the device in advertisements; every given field must match."""

    address: str | None = None
    name: str | None = None
    service_uuid: str | None = None

    def __post_init__(self) -> None:
        if self.address is None and self.name is None and self.service_uuid is None:
            raise DriverConfigError("a BLE device needs an address, a name or a service_uuid")
        if self.address is not None:
            address = self.address.upper()
            if not ADDRESS.match(address):
                raise DriverConfigError(f"{self.address!r} is not a Bluetooth address")
            object.__setattr__(self, "address", address)
        if self.service_uuid is not None:
            object.__setattr__(self, "service_uuid", normalize_uuid(self.service_uuid, str(self)))

    def matches(self, address: str, name: str | None, service_uuids: list[str]) -> bool:
        return (
            (self.address is None or address.upper() == self.address)
            and (self.name is None or name == self.name)
            and (self.service_uuid is None or self.service_uuid in service_uuids)
        )

    def __str__(self) -> str:
        given = {"address": self.address, "name": self.name, "service": self.service_uuid}
        return " ".join(f"{key}={value}" for key, value in given.items() if value is not None)


@dataclass(frozen=True, slots=True)
class BleDevice:
    """A device to keep connected, read as data source ``source``, and the
    characteristics whose values become that source's readings."""

    match: DeviceMatch
    source: str
    characteristics: tuple[BleCharacteristic, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "characteristics", tuple(self.characteristics))
        if not self.source:
            raise DriverConfigError(f"BLE device {self.match}: needs a source")
        if not self.characteristics:
            raise DriverConfigError(f"BLE device {self}: no characteristics to read")
        seen: set[str] = set()
        for characteristic in self.characteristics:
            if characteristic.uuid in seen:
                raise DriverConfigError(
                    f"BLE device {self}: characteristic {characteristic.uuid} is listed twice"
                )
            seen.add(characteristic.uuid)

    def __str__(self) -> str:
        return f"{self.source} ({self.match})"
