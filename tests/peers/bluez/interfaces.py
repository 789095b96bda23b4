"""The org.bluez D-Bus interfaces the stand-in serves, as dbus-fast objects.

Only what bleak's BlueZ backend reads or calls is here (bleak 1.x-3.x:
``backends/bluezdbus/manager.py``, ``client.py``, ``scanner.py``), with the
names, signatures and error names of BlueZ's ``doc/org.bluez.*.rst``.
Object paths follow bluetoothd's layout, which bleak parses:
``/org/bluez/hci0/dev_AA_BB_.../serviceXXXX/charXXXX/descXXXX`` with
four hex digits of the attribute handle at the end of each.

The classes hold state and forward behaviour to a :class:`Backend`; the
stand-in (:mod:`tests.peers.bluez.standin`) is that backend and drives a
bumble central. ``ObjectManager.GetManagedObjects`` at ``/`` and the
``InterfacesAdded``/``InterfacesRemoved`` signals come from dbus-fast's
export and unexport.

No ``from __future__ import annotations`` here: dbus-fast reads the
annotations at import time, and would take a postponed ``None`` return for
a signature.
"""

from typing import Annotated, Any, Protocol

from dbus_fast import DBusError
from dbus_fast.annotations import (
    DBusBool,
    DBusBytes,
    DBusDict,
    DBusInt16,
    DBusObjectPath,
    DBusSignature,
    DBusStr,
    DBusUInt16,
    DBusUInt32,
)
from dbus_fast.constants import PropertyAccess
from dbus_fast.service import ServiceInterface, dbus_method, dbus_property

# ``as`` has no ready-made annotation in dbus-fast.
DBusStrings = Annotated[list[str], DBusSignature("as")]

READ = PropertyAccess.READ


class Backend(Protocol):
    async def start_discovery(self) -> None: ...
    async def stop_discovery(self) -> None: ...
    def set_discovery_filter(self, filters: dict[str, Any]) -> None: ...
    async def connect(self, device: "Device1") -> None: ...
    async def disconnect(self, device: "Device1") -> None: ...
    async def read(self, characteristic: "GattCharacteristic1") -> bytes: ...
    async def write(
        self, characteristic: "GattCharacteristic1", value: bytes, request: bool
    ) -> None: ...
    async def start_notify(self, characteristic: "GattCharacteristic1") -> None: ...
    async def stop_notify(self, characteristic: "GattCharacteristic1") -> None: ...


# Method and property names are the D-Bus member names, hence CamelCase.


class Adapter1(ServiceInterface):
    """``/org/bluez/hci0``: a powered LE adapter able to act as central."""

    def __init__(self, backend: Backend, address: str) -> None:
        super().__init__("org.bluez.Adapter1")
        self.backend = backend
        self.address = address
        self.discovering = False

    @dbus_method()
    async def StartDiscovery(self) -> None:
        await self.backend.start_discovery()

    @dbus_method()
    async def StopDiscovery(self) -> None:
        await self.backend.stop_discovery()

    @dbus_method()
    def SetDiscoveryFilter(self, filters: DBusDict) -> None:
        self.backend.set_discovery_filter({key: value.value for key, value in filters.items()})

    @dbus_method()
    def RemoveDevice(self, device: DBusObjectPath) -> None:
        raise DBusError("org.bluez.Error.NotSupported", "RemoveDevice is not emulated")

    @dbus_property(access=READ)
    def Address(self) -> DBusStr:
        return self.address

    @dbus_property(access=READ)
    def AddressType(self) -> DBusStr:
        return "public"

    @dbus_property(access=READ)
    def Name(self) -> DBusStr:
        return "edgeward-test"

    @dbus_property(access=READ)
    def Alias(self) -> DBusStr:
        return "edgeward-test"

    @dbus_property(access=READ)
    def Class(self) -> DBusUInt32:
        return 0

    @dbus_property(access=READ)
    def Powered(self) -> DBusBool:
        return True

    @dbus_property(access=READ)
    def Discoverable(self) -> DBusBool:
        return False

    @dbus_property(access=READ)
    def Pairable(self) -> DBusBool:
        return False

    @dbus_property(access=READ)
    def Discovering(self) -> DBusBool:
        return self.discovering

    @dbus_property(access=READ)
    def UUIDs(self) -> DBusStrings:
        return []

    @dbus_property(access=READ)
    def Modalias(self) -> DBusStr:
        return "usb:v1D6Bp0246d0554"

    @dbus_property(access=READ)
    def Roles(self) -> DBusStrings:
        return ["central", "peripheral"]


class Device1(ServiceInterface):
    """A remote device the adapter has seen advertising."""

    def __init__(self, backend: Backend, adapter: str, address: str) -> None:
        super().__init__("org.bluez.Device1")
        self.backend = backend
        self.adapter = adapter
        self.address = address
        self.path = f"{adapter}/dev_{address.replace(':', '_')}"
        # Not ``name``: ServiceInterface keeps the interface name there.
        self.device_name = ""
        self.rssi = -127
        self.uuids: list[str] = []
        self.connected = False
        self.services_resolved = False

    def change(self, **changed: Any) -> None:
        """Set attributes and emit PropertiesChanged for their D-Bus names."""
        names = {
            "rssi": "RSSI",
            "device_name": "Name",
            "uuids": "UUIDs",
            "connected": "Connected",
            "services_resolved": "ServicesResolved",
        }
        for attribute, value in changed.items():
            setattr(self, attribute, value)
        self.emit_properties_changed({names[key]: value for key, value in changed.items()})

    @dbus_method()
    async def Connect(self) -> None:
        await self.backend.connect(self)

    @dbus_method()
    async def Disconnect(self) -> None:
        await self.backend.disconnect(self)

    @dbus_method()
    def Pair(self) -> None:
        raise DBusError("org.bluez.Error.NotSupported", "pairing is not emulated")

    @dbus_property(access=READ)
    def Address(self) -> DBusStr:
        return self.address

    @dbus_property(access=READ)
    def AddressType(self) -> DBusStr:
        return "random"

    @dbus_property(access=READ)
    def Name(self) -> DBusStr:
        return self.device_name

    @dbus_property(access=READ)
    def Alias(self) -> DBusStr:
        # bluetoothd falls back to the address with dashes when it knows no name.
        return self.device_name or self.address.replace(":", "-")

    @dbus_property(access=READ)
    def Adapter(self) -> DBusObjectPath:
        return self.adapter

    @dbus_property(access=READ)
    def RSSI(self) -> DBusInt16:
        return self.rssi

    @dbus_property(access=READ)
    def UUIDs(self) -> DBusStrings:
        return self.uuids

    @dbus_property(access=READ)
    def Connected(self) -> DBusBool:
        return self.connected

    @dbus_property(access=READ)
    def ServicesResolved(self) -> DBusBool:
        return self.services_resolved

    @dbus_property(access=READ)
    def Paired(self) -> DBusBool:
        return False

    @dbus_property(access=READ)
    def Bonded(self) -> DBusBool:
        return False

    @dbus_property(access=READ)
    def Trusted(self) -> DBusBool:
        return False

    @dbus_property(access=READ)
    def Blocked(self) -> DBusBool:
        return False

    @dbus_property(access=READ)
    def LegacyPairing(self) -> DBusBool:
        return False


class GattService1(ServiceInterface):
    def __init__(self, device: str, uuid: str, handle: int) -> None:
        super().__init__("org.bluez.GattService1")
        self.device = device
        self.uuid = uuid
        self.handle = handle
        self.path = f"{device}/service{handle:04x}"

    @dbus_property(access=READ)
    def UUID(self) -> DBusStr:
        return self.uuid

    @dbus_property(access=READ)
    def Device(self) -> DBusObjectPath:
        return self.device

    @dbus_property(access=READ)
    def Primary(self) -> DBusBool:
        return True

    @dbus_property(access=READ)
    def Handle(self) -> DBusUInt16:
        return self.handle


class GattCharacteristic1(ServiceInterface):
    def __init__(
        self, backend: Backend, service: str, uuid: str, handle: int, flags: list[str]
    ) -> None:
        super().__init__("org.bluez.GattCharacteristic1")
        self.backend = backend
        self.service = service
        self.uuid = uuid
        self.handle = handle
        self.flags = flags
        self.path = f"{service}/char{handle:04x}"
        self.value = b""
        self.notifying = False

    def set_value(self, value: bytes) -> None:
        """bluetoothd caches every value it reads or is notified of, and says so."""
        self.value = value
        self.emit_properties_changed({"Value": value})

    @dbus_method()
    async def ReadValue(self, options: DBusDict) -> DBusBytes:
        return await self.backend.read(self)

    @dbus_method()
    async def WriteValue(self, value: DBusBytes, options: DBusDict) -> None:
        kind = options.get("type")
        await self.backend.write(self, bytes(value), kind is None or kind.value == "request")

    @dbus_method()
    async def StartNotify(self) -> None:
        await self.backend.start_notify(self)

    @dbus_method()
    async def StopNotify(self) -> None:
        await self.backend.stop_notify(self)

    @dbus_property(access=READ)
    def UUID(self) -> DBusStr:
        return self.uuid

    @dbus_property(access=READ)
    def Service(self) -> DBusObjectPath:
        return self.service

    @dbus_property(access=READ)
    def Value(self) -> DBusBytes:
        return self.value

    @dbus_property(access=READ)
    def Notifying(self) -> DBusBool:
        return self.notifying

    @dbus_property(access=READ)
    def Flags(self) -> DBusStrings:
        return self.flags

    @dbus_property(access=READ)
    def Handle(self) -> DBusUInt16:
        return self.handle

    @dbus_property(access=READ)
    def MTU(self) -> DBusUInt16:
        return 23


class GattDescriptor1(ServiceInterface):
    """Listed so bleak's service tree is complete; reads are not emulated."""

    def __init__(self, characteristic: str, uuid: str, handle: int) -> None:
        super().__init__("org.bluez.GattDescriptor1")
        self.characteristic = characteristic
        self.uuid = uuid
        self.handle = handle
        self.path = f"{characteristic}/desc{handle:04x}"

    @dbus_property(access=READ)
    def UUID(self) -> DBusStr:
        return self.uuid

    @dbus_property(access=READ)
    def Characteristic(self) -> DBusObjectPath:
        return self.characteristic

    @dbus_property(access=READ)
    def Value(self) -> DBusBytes:
        return b""

    @dbus_property(access=READ)
    def Flags(self) -> DBusStrings:
        return ["read"]

    @dbus_property(access=READ)
    def Handle(self) -> DBusUInt16:
        return self.handle
