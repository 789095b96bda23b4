"""What the BLE driver is told to read: which devices, found how, and which
of their GATT characteristics, by notification or by polled read.

Each characteristic is its own data source: a temperature and a humidity
characteristic of one sensor decode differently, so admission and decoding
above the driver see them apart. Everything is checked here, once, so a
mistake stops the gateway before it starts rather than at the first read.
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


def normalize_uuid(value: str, where: str) -> str:
    """128-bit lowercase, as BlueZ and bleak name UUIDs; ``"2a6e"`` is accepted."""
    try:
        return normalize_uuid_str(value)
    except ValueError as exc:
        raise DriverConfigError(f"{where}: {value!r} is not a UUID") from exc


@dataclass(frozen=True, slots=True)
class BleCharacteristic:
    """One characteristic read as data source ``source``.

    ``length``, when set, is the only value size the device may send; any
    other is counted as malformed and dropped, so a garbled frame never
    reaches decoding.
    """

    source: str
    uuid: str
    mode: Mode = Mode.NOTIFY
    poll_interval: float = 5.0
    length: int | None = None

    def __post_init__(self) -> None:
        if not self.source:
            raise DriverConfigError("a BLE characteristic needs a source")
        object.__setattr__(self, "uuid", normalize_uuid(self.uuid, self.source))
        try:
            object.__setattr__(self, "mode", Mode(self.mode))
        except ValueError as exc:
            modes = ", ".join(Mode)
            raise DriverConfigError(
                f"{self.source}: mode {self.mode!r} is not one of {modes}"
            ) from exc
        if not self.poll_interval > 0:
            raise DriverConfigError(f"{self.source}: poll_interval must be positive")
        if self.length is not None and not 1 <= self.length <= 512:
            # 512 bytes: the longest attribute value (Core spec v5.4, Vol 3, Part F, §3.2.9).
            raise DriverConfigError(f"{self.source}: length must lie in 1..512")


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
    """A device to keep connected, and the characteristics to read from it."""

    match: DeviceMatch
    characteristics: tuple[BleCharacteristic, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "characteristics", tuple(self.characteristics))
        if not self.characteristics:
            raise DriverConfigError(f"BLE device {self.match}: no characteristics to read")
        uuids = [c.uuid for c in self.characteristics]
        if len(set(uuids)) != len(uuids):
            raise DriverConfigError(f"BLE device {self.match}: a characteristic is listed twice")
