"""The BlueZ stand-in: org.bluez on a D-Bus bus, carried out by a bumble central.

bluetoothd turns D-Bus calls into HCI commands for a radio; this does the
same with a bumble :class:`~bumble.device.Device` in the central role on a
:class:`~bumble.link.LocalLink`, where the peripherals are bumble devices
too. Everything between bleak and the peripheral is therefore real: D-Bus
messages through a real ``dbus-daemon``, and ATT/GATT PDUs through bumble's
host and controller stacks. Only the radio is in memory.

What bluetoothd does and this copies, because bleak depends on it:

- a Device1 object appears (InterfacesAdded) on the first advertisement seen
  while discovering, and every later one updates ``RSSI`` with a
  PropertiesChanged, which is how bleak's scanner hears of it again;
- ``Connect`` returns once connected; ``Connected`` turns true, the GATT
  objects are exported, then ``ServicesResolved`` turns true;
- on any disconnect the GATT objects are removed and ``ServicesResolved`` and
  ``Connected`` turn false;
- notifications and reads update ``Value`` through PropertiesChanged.

Not emulated: pairing, AcquireNotify/AcquireWrite (bleak uses StartNotify by
default), per-client discovery sessions (one discovery is shared by all
callers), and removal of stale devices after discovery stops.
"""

from __future__ import annotations

import asyncio
import logging
import uuid as uuid_module
from typing import Any

from bumble import core
from bumble.core import AdvertisingData
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt_client import CharacteristicProxy, ServiceProxy
from dbus_fast import DBusError
from dbus_fast.aio import MessageBus

from tests.peers.bluez.interfaces import (
    Adapter1,
    Device1,
    GattCharacteristic1,
    GattDescriptor1,
    GattService1,
)

logger = logging.getLogger(__name__)

ADAPTER_PATH = "/org/bluez/hci0"
# How long one GATT or link operation may take on the in-memory link.
OPERATION_TIMEOUT = 5.0
FLAG_NAMES = {
    0x01: "broadcast",
    0x02: "read",
    0x04: "write-without-response",
    0x08: "write",
    0x10: "notify",
    0x20: "indicate",
    0x40: "authenticated-signed-writes",
    0x80: "extended-properties",
}


def full_uuid(value: core.UUID) -> str:
    """BlueZ names every UUID in its 128-bit lowercase form."""
    return str(uuid_module.UUID(bytes=value.to_bytes(force_128=True)[::-1]))


def _not_connected() -> DBusError:
    return DBusError("org.bluez.Error.NotConnected", "Not Connected")


class _Link:
    """One connection to a device and the GATT objects exported for it."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.peer = Peer(connection)
        self.characteristics: dict[str, CharacteristicProxy[bytes]] = {}
        self.paths: list[str] = []


class BlueZStandIn:
    """Serves org.bluez on ``bus`` for ``central``; see the module docstring."""

    def __init__(self, bus: MessageBus, central: Device) -> None:
        self.bus = bus
        self.central = central
        self.adapter = Adapter1(self, central.public_address.to_string(False))
        self.devices: dict[str, Device1] = {}
        self._filter_uuids: set[str] = set()
        self._links: dict[str, _Link] = {}
        self._connecting = asyncio.Lock()
        central.on(central.EVENT_ADVERTISEMENT, self._on_advertisement)

    async def start(self) -> None:
        self.bus.export(ADAPTER_PATH, self.adapter)
        await self.bus.request_name("org.bluez")

    # -- discovery ---------------------------------------------------------

    async def start_discovery(self) -> None:
        if not self.adapter.discovering:
            await self.central.start_scanning(filter_duplicates=False)
            self.adapter.discovering = True
            self.adapter.emit_properties_changed({"Discovering": True})

    async def stop_discovery(self) -> None:
        if not self.adapter.discovering:
            raise DBusError("org.bluez.Error.Failed", "No discovery started")
        await self.central.stop_scanning()
        self.adapter.discovering = False
        self.adapter.emit_properties_changed({"Discovering": False})

    def set_discovery_filter(self, filters: dict[str, Any]) -> None:
        self._filter_uuids = {str(u).lower() for u in filters.get("UUIDs", [])}

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        if not self.adapter.discovering or not advertisement.is_connectable:
            return
        data = advertisement.data
        name = data.get(AdvertisingData.COMPLETE_LOCAL_NAME) or data.get(
            AdvertisingData.SHORTENED_LOCAL_NAME
        )
        uuids = sorted(
            {
                full_uuid(u)
                for u in data.get_all(AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS)
                + data.get_all(AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS)
                for u in (u if isinstance(u, list) else [u])
            }
        )
        if self._filter_uuids and not self._filter_uuids.intersection(uuids):
            return
        address = advertisement.address.to_string(False)
        device = self.devices.get(address)
        if device is None:
            device = Device1(self, ADAPTER_PATH, address)
            device.device_name = name.decode() if isinstance(name, bytes) else str(name or "")
            device.uuids = uuids
            device.rssi = advertisement.rssi
            self.devices[address] = device
            self.bus.export(device.path, device)
        else:
            changed: dict[str, Any] = {"rssi": advertisement.rssi}
            if uuids != device.uuids:
                changed["uuids"] = uuids
            device.change(**changed)

    # -- connections -------------------------------------------------------

    async def connect(self, device: Device1) -> None:
        if device.address in self._links:
            return
        try:
            # A controller creates one LE connection at a time (a second
            # HCI_LE_Create_Connection is disallowed); bluetoothd queues them.
            async with self._connecting:
                connection = await self.central.connect(device.address, timeout=OPERATION_TIMEOUT)
        except (TimeoutError, core.BaseBumbleError) as exc:
            raise DBusError("org.bluez.Error.Failed", f"connection failed: {exc!r}") from exc
        link = _Link(connection)
        self._links[device.address] = link
        connection.on(connection.EVENT_DISCONNECTION, lambda _reason: self._lost(device, link))
        device.change(connected=True)
        try:
            await asyncio.wait_for(self._resolve(device, link), OPERATION_TIMEOUT)
        except (TimeoutError, core.BaseBumbleError) as exc:
            raise DBusError("org.bluez.Error.Failed", f"discovery failed: {exc!r}") from exc
        device.change(services_resolved=True)

    async def _resolve(self, device: Device1, link: _Link) -> None:
        """Discover the peer's GATT database and export it under the device."""
        await link.peer.discover_all()
        service: ServiceProxy
        for service in link.peer.services:
            service_object = GattService1(device.path, full_uuid(service.uuid), service.handle)
            self._export(link, service_object.path, service_object)
            for proxy in service.characteristics:
                flags = [name for bit, name in FLAG_NAMES.items() if proxy.properties & bit]
                characteristic = GattCharacteristic1(
                    self, service_object.path, full_uuid(proxy.uuid), proxy.handle, flags
                )
                link.characteristics[characteristic.path] = proxy
                self._export(link, characteristic.path, characteristic)
                for descriptor in proxy.descriptors:
                    descriptor_object = GattDescriptor1(
                        characteristic.path, full_uuid(descriptor.type), descriptor.handle
                    )
                    self._export(link, descriptor_object.path, descriptor_object)

    def _export(self, link: _Link, path: str, interface: Any) -> None:
        self.bus.export(path, interface)
        link.paths.append(path)

    def _lost(self, device: Device1, link: _Link) -> None:
        """bumble reports a disconnect, whoever caused it: tear down like bluetoothd."""
        if self._links.get(device.address) is not link:
            return
        del self._links[device.address]
        for path in reversed(link.paths):
            self.bus.unexport(path)
        device.change(services_resolved=False)
        device.change(connected=False)

    async def disconnect(self, device: Device1) -> None:
        link = self._links.get(device.address)
        if link is None:
            raise _not_connected()
        await asyncio.wait_for(link.connection.disconnect(), OPERATION_TIMEOUT)

    # -- GATT --------------------------------------------------------------

    def _proxy(
        self, characteristic: GattCharacteristic1
    ) -> tuple[_Link, CharacteristicProxy[bytes]]:
        for link in self._links.values():
            proxy = link.characteristics.get(characteristic.path)
            if proxy is not None:
                return link, proxy
        raise _not_connected()

    async def read(self, characteristic: GattCharacteristic1) -> bytes:
        link, proxy = self._proxy(characteristic)
        try:
            value = await asyncio.wait_for(link.peer.read_value(proxy), OPERATION_TIMEOUT)
        except core.ProtocolError as exc:
            raise _att_error(exc) from exc
        except (TimeoutError, core.BaseBumbleError) as exc:
            raise DBusError("org.bluez.Error.Failed", f"read failed: {exc!r}") from exc
        characteristic.set_value(bytes(value))
        return bytes(value)

    async def write(self, characteristic: GattCharacteristic1, value: bytes, request: bool) -> None:
        link, proxy = self._proxy(characteristic)
        try:
            await asyncio.wait_for(
                link.peer.write_value(proxy, value, with_response=request), OPERATION_TIMEOUT
            )
        except core.ProtocolError as exc:
            raise _att_error(exc) from exc
        except (TimeoutError, core.BaseBumbleError) as exc:
            raise DBusError("org.bluez.Error.Failed", f"write failed: {exc!r}") from exc

    async def start_notify(self, characteristic: GattCharacteristic1) -> None:
        link, proxy = self._proxy(characteristic)
        if characteristic.notifying:
            return
        if not {"notify", "indicate"}.intersection(characteristic.flags):
            raise DBusError("org.bluez.Error.NotSupported", "Operation is not supported")
        await asyncio.wait_for(
            link.peer.subscribe(proxy, lambda value: characteristic.set_value(bytes(value))),
            OPERATION_TIMEOUT,
        )
        characteristic.notifying = True
        characteristic.emit_properties_changed({"Notifying": True})

    async def stop_notify(self, characteristic: GattCharacteristic1) -> None:
        link, proxy = self._proxy(characteristic)
        if not characteristic.notifying:
            raise DBusError("org.bluez.Error.Failed", "No notify session started")
        await asyncio.wait_for(link.peer.unsubscribe(proxy), OPERATION_TIMEOUT)
        characteristic.notifying = False
        characteristic.emit_properties_changed({"Notifying": False})


def _att_error(exc: core.ProtocolError) -> DBusError:
    """The message bluetoothd gives ATT errors, which bleak parses back into a code."""
    code = exc.error_code if isinstance(exc.error_code, int) else 0x0E
    return DBusError("org.bluez.Error.Failed", f"Operation failed with ATT error: {code:#04x}")
