"""A simulated BLE environmental sensor: a real bumble GATT peripheral.

The sensor serves the Bluetooth SIG Environmental Sensing Service (0x181A)
with two characteristics, each readable and notifying, in the byte layout the
GATT Specification Supplement (§3.204 Temperature, §3.124 Humidity) gives:

==============  ======  =================================================
characteristic  uuid    value
==============  ======  =================================================
Temperature     0x2A6E  sint16, little-endian, 0.01 degree Celsius
Humidity        0x2A6F  uint16, little-endian, 0.01 percent
==============  ======  =================================================

It runs on a bumble controller attached to a :class:`bumble.link.LocalLink`,
so a bumble central on the same link (the tests' BlueZ stand-in, later the
demo's) reaches it without a radio. :meth:`vanish` and :meth:`appear` model
a sensor walking out of range and back; :meth:`notify_raw` sends any bytes,
so tests can check what a gateway does with garbage.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from bumble.controller import Controller
from bumble.core import AdvertisingData
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

ENVIRONMENTAL_SENSING_SERVICE = "0000181a-0000-1000-8000-00805f9b34fb"
TEMPERATURE = "00002a6e-0000-1000-8000-00805f9b34fb"
HUMIDITY = "00002a6f-0000-1000-8000-00805f9b34fb"
# Fast enough that a scan finds the sensor within tens of milliseconds.
ADVERTISING_INTERVAL_MS = 20.0


def _short(uuid: str) -> str:
    """The 16-bit alias of a SIG UUID, which bumble then serves as 16-bit."""
    return uuid[4:8]


def encode_temperature(celsius: float) -> bytes:
    """Temperature characteristic value: sint16 in 0.01 degC, little-endian."""
    return struct.pack("<h", round(celsius * 100))


def encode_humidity(percent: float) -> bytes:
    """Humidity characteristic value: uint16 in 0.01 %, little-endian."""
    return struct.pack("<H", round(percent * 100))


def decode_temperature(raw: bytes) -> float:
    (hundredths,) = struct.unpack("<h", raw)
    return float(hundredths) / 100


def decode_humidity(raw: bytes) -> float:
    (hundredths,) = struct.unpack("<H", raw)
    return float(hundredths) / 100


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
        temperature: float = 21.5,
        humidity: float = 40.0,
    ) -> None:
        self.name = name
        self.address = address
        controller = Controller(name, link=link, public_address=address)
        self.device = Device(
            name=name,
            address=Address(address),
            host=Host(controller, AsyncPipeSink(controller)),
        )
        self._values = {
            TEMPERATURE: encode_temperature(temperature),
            HUMIDITY: encode_humidity(humidity),
        }
        self.characteristics: dict[str, Characteristic[bytes]] = {
            uuid: Characteristic(
                _short(uuid),
                Characteristic.Properties.READ | Characteristic.Properties.NOTIFY,
                Characteristic.Permissions.READABLE,
                CharacteristicValue[bytes](read=self._reader(uuid)),
            )
            for uuid in (TEMPERATURE, HUMIDITY)
        }
        self.device.add_service(
            Service(_short(ENVIRONMENTAL_SENSING_SERVICE), list(self.characteristics.values()))
        )

    def _reader(self, uuid: str) -> Callable[[Connection], bytes]:
        def read(_connection: Connection) -> bytes:
            return self._values[uuid]

        return read

    async def start(self) -> None:
        """Power the controller on and start advertising."""
        await self.device.power_on()
        await self.appear()

    async def appear(self) -> None:
        """Advertise (again): name and service UUID, connectable."""
        advertising_data = AdvertisingData(
            [
                (AdvertisingData.COMPLETE_LOCAL_NAME, self.name.encode()),
                (
                    AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
                    bytes.fromhex(_short(ENVIRONMENTAL_SENSING_SERVICE))[::-1],
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

    async def set_temperature(self, celsius: float) -> None:
        await self._update(TEMPERATURE, encode_temperature(celsius))

    async def set_humidity(self, percent: float) -> None:
        await self._update(HUMIDITY, encode_humidity(percent))

    async def notify_raw(self, uuid: str, value: bytes) -> None:
        """Notify ``value`` as is, without storing it: a misbehaving sensor."""
        await self.device.notify_subscribers(self.characteristics[uuid], value)

    async def _update(self, uuid: str, value: bytes) -> None:
        self._values[uuid] = value
        await self.device.notify_subscribers(self.characteristics[uuid], value)
