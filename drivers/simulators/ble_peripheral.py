"""A simulated BLE environmental sensor: a real bumble GATT peripheral.

The sensor serves Bluetooth SIG standard characteristics, each readable and
notifying, in the byte layout the GATT Specification Supplement gives in
the section named after each (§3.204 Temperature, §3.124 Humidity, ...): a
little-endian integer counting steps of the resolution.

==============  ======  =======  ======  ==========
characteristic  uuid    service  format  resolution
==============  ======  =======  ======  ==========
Temperature     0x2A6E  0x181A   sint16  0.01 degC
Humidity        0x2A6F  0x181A   uint16  0.01 %
Pressure        0x2A6D  0x181A   uint32  0.1 Pa
Elevation       0x2A6C  0x181A   sint24  0.01 m
Battery Level   0x2A19  0x180F   uint8   1 %
==============  ======  =======  ======  ==========

(0x181A is the Environmental Sensing Service, 0x180F the Battery Service.)
By default a sensor serves temperature and humidity; each keyword argument
of :class:`EnvironmentalSensor` given a number adds its characteristic, and
``None`` leaves it out. ``custom`` adds vendor characteristics (any UUID,
128-bit ones included) holding the bytes given, in the Environmental Sensing
Service. The advertisement lists the services served.

It runs on a bumble controller attached to a :class:`bumble.link.LocalLink`,
so a bumble central on the same link (the tests' BlueZ stand-in, later the
demo's) reaches it without a radio. What a test does with it:

- :meth:`~EnvironmentalSensor.set` a characteristic to a value in its unit
  (negative where the format is signed); reads return it and subscribers
  are notified;
- :meth:`~EnvironmentalSensor.set_raw` the same with bytes as given (a
  "value not known" code such as 0x8000 for Temperature);
- :meth:`~EnvironmentalSensor.notify_raw` any bytes without storing them:
  a misbehaving sensor;
- :meth:`~EnvironmentalSensor.vanish` and :meth:`~EnvironmentalSensor.appear`
  for a sensor walking out of range and back,
  :meth:`~EnvironmentalSensor.drop_connections` for a sensor reboot.

:func:`encode` and :func:`decode` convert between a value and its bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bumble.controller import Controller
from bumble.core import AdvertisingData
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink


def _sig(short: str) -> str:
    """The 128-bit form of a 16-bit SIG UUID, as BlueZ and bleak name it."""
    return f"0000{short}-0000-1000-8000-00805f9b34fb"


ENVIRONMENTAL_SENSING_SERVICE = _sig("181a")
BATTERY_SERVICE = _sig("180f")
TEMPERATURE = _sig("2a6e")
HUMIDITY = _sig("2a6f")
PRESSURE = _sig("2a6d")
ELEVATION = _sig("2a6c")
BATTERY_LEVEL = _sig("2a19")
# Fast enough that a scan finds the sensor within tens of milliseconds.
ADVERTISING_INTERVAL_MS = 20.0


@dataclass(frozen=True, slots=True)
class Format:
    """A standard characteristic's value: one little-endian integer of
    ``size`` bytes, counting steps of ``1 / per_unit`` of its unit."""

    service: str
    size: int
    signed: bool
    per_unit: int


FORMATS: dict[str, Format] = {
    TEMPERATURE: Format(ENVIRONMENTAL_SENSING_SERVICE, 2, True, 100),
    HUMIDITY: Format(ENVIRONMENTAL_SENSING_SERVICE, 2, False, 100),
    PRESSURE: Format(ENVIRONMENTAL_SENSING_SERVICE, 4, False, 10),
    ELEVATION: Format(ENVIRONMENTAL_SENSING_SERVICE, 3, True, 100),
    BATTERY_LEVEL: Format(BATTERY_SERVICE, 1, False, 1),
}


def encode(uuid: str, value: float) -> bytes:
    """``value`` (degC, %, Pa, m) as characteristic ``uuid`` holds it;
    OverflowError if the format cannot hold it."""
    form = FORMATS[uuid]
    # round, not int: -12.34 * 100 is -1233.9999999999998 in binary floating point.
    return round(value * form.per_unit).to_bytes(form.size, "little", signed=form.signed)


def decode(uuid: str, raw: bytes) -> float:
    """The value characteristic ``uuid``'s bytes hold, in its unit."""
    form = FORMATS[uuid]
    return int.from_bytes(raw, "little", signed=form.signed) / form.per_unit


def _short(uuid: str) -> str:
    """The 16-bit alias of a SIG UUID, which bumble then serves as 16-bit."""
    return uuid[4:8]


class EnvironmentalSensor:
    """One sensor with its own bumble controller on ``link``.

    ``address`` is a static random address (its two top bits set, e.g.
    ``C0:...``), the kind battery sensors use; it stays the same across
    :meth:`vanish` and :meth:`appear`, as it does on real hardware.
    """

    def __init__(
        self,
        link: LocalLink,
        address: str,
        name: str,
        *,
        temperature: float | None = 21.5,
        humidity: float | None = 40.0,
        pressure: float | None = None,
        elevation: float | None = None,
        battery_level: float | None = None,
        custom: Mapping[str, bytes] | None = None,
    ) -> None:
        self.name = name
        self.address = address
        controller = Controller(name, link=link, public_address=address)
        self.device = Device(
            name=name,
            address=Address(address),
            host=Host(controller, AsyncPipeSink(controller)),
        )
        initial = {
            TEMPERATURE: temperature,
            HUMIDITY: humidity,
            PRESSURE: pressure,
            ELEVATION: elevation,
            BATTERY_LEVEL: battery_level,
        }
        self._values = {uuid: encode(uuid, v) for uuid, v in initial.items() if v is not None}
        self._service_of = {uuid: FORMATS[uuid].service for uuid in self._values}
        for uuid, raw in (custom or {}).items():
            self._values[uuid] = raw
            self._service_of[uuid] = ENVIRONMENTAL_SENSING_SERVICE
        if not self._values:
            raise ValueError(f"sensor {name}: no characteristic to serve")
        self.characteristics: dict[str, Characteristic[bytes]] = {
            uuid: Characteristic(
                _short(uuid) if uuid in FORMATS else uuid,
                Characteristic.Properties.READ | Characteristic.Properties.NOTIFY,
                Characteristic.Permissions.READABLE,
                CharacteristicValue[bytes](read=self._reader(uuid)),
            )
            for uuid in self._values
        }
        # In FORMATS order: the Environmental Sensing Service first.
        self.services = sorted(
            set(self._service_of.values()), key=lambda s: s != ENVIRONMENTAL_SENSING_SERVICE
        )
        for service in self.services:
            served = [
                c for uuid, c in self.characteristics.items() if self._service_of[uuid] == service
            ]
            self.device.add_service(Service(_short(service), served))

    def _reader(self, uuid: str) -> Callable[[Connection], bytes]:
        def read(_connection: Connection) -> bytes:
            return self._values[uuid]

        return read

    async def start(self) -> None:
        """Power the controller on and start advertising."""
        await self.device.power_on()
        await self.appear()

    async def appear(self) -> None:
        """Advertise (again): name and the services served, connectable."""
        advertising_data = AdvertisingData(
            [
                (AdvertisingData.COMPLETE_LOCAL_NAME, self.name.encode()),
                (
                    AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
                    b"".join(bytes.fromhex(_short(s))[::-1] for s in self.services),
                ),
            ]
        )
        await self.device.start_advertising(
            advertising_data=bytes(advertising_data),
            auto_restart=True,
            advertising_interval_min=ADVERTISING_INTERVAL_MS,
            advertising_interval_max=ADVERTISING_INTERVAL_MS,
        )

    async def vanish(self) -> None:
        """Stop advertising and drop every connection: out of range."""
        await self.device.stop_advertising()
        await self.drop_connections()

    async def drop_connections(self) -> None:
        """End every connection from this side; advertising goes on (a sensor reboot)."""
        for connection in list(self.device.connections.values()):
            await connection.disconnect()

    async def set(self, uuid: str, value: float) -> None:
        """Serve ``value`` (in the characteristic's unit) from now on and notify it."""
        await self.set_raw(uuid, encode(uuid, value))

    async def set_raw(self, uuid: str, raw: bytes) -> None:
        """Serve ``raw`` as is from now on and notify it."""
        self._characteristic(uuid)
        self._values[uuid] = raw
        await self.notify_raw(uuid, raw)

    async def notify_raw(self, uuid: str, raw: bytes) -> None:
        """Notify ``raw`` as is, without storing it: a misbehaving sensor."""
        await self.device.notify_subscribers(self._characteristic(uuid), raw)

    async def set_temperature(self, celsius: float) -> None:
        await self.set(TEMPERATURE, celsius)

    async def set_humidity(self, percent: float) -> None:
        await self.set(HUMIDITY, percent)

    def _characteristic(self, uuid: str) -> Characteristic[bytes]:
        try:
            return self.characteristics[uuid]
        except KeyError:
            raise ValueError(f"sensor {self.name} does not serve {uuid}") from None
