"""bleak's exceptions, translated into :mod:`edgeward.drivers.errors` at the boundary.

::

    bleak / dbus-fast / OS                       Edgeward
    BleakDeviceNotFoundError                  -> DeviceUnavailable (out of range)
    BleakBluetoothNotAvailableError           -> DeviceUnavailable (adapter off or missing)
    BleakGATTProtocolError                    -> DeviceProtocolError, code = ATT error code
    BleakCharacteristicNotFoundError          -> DeviceProtocolError (not in its GATT table)
    BleakDBusError, BleakError                -> DeviceUnavailable (BlueZ refused or failed)
    TimeoutError, OSError, EOFError           -> DeviceUnavailable (no answer; bus gone)

Everything but a protocol error is worth retrying on a fresh connection.
"""

from __future__ import annotations

from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakCharacteristicNotFoundError,
    BleakDBusError,
    BleakDeviceNotFoundError,
    BleakError,
    BleakGATTProtocolError,
)

from edgeward.drivers.errors import DeviceProtocolError, DeviceUnavailable, DriverError

# What a bleak call can raise when the device, BlueZ or the system bus fails.
BLE_ERRORS: tuple[type[BaseException], ...] = (BleakError, TimeoutError, OSError, EOFError)


def translate(exc: BaseException, device: str) -> DriverError:
    """The Edgeward error for ``exc``; raise it ``from exc``."""
    if isinstance(exc, BleakGATTProtocolError):
        return DeviceProtocolError(str(exc), device=device, code=int(exc.code))
    if isinstance(exc, BleakCharacteristicNotFoundError):
        return DeviceProtocolError(f"no such characteristic: {exc}", device=device)
    if isinstance(exc, BleakDeviceNotFoundError):
        return DeviceUnavailable("not found", device=device)
    if isinstance(exc, BleakBluetoothNotAvailableError):
        return DeviceUnavailable(f"Bluetooth not available: {exc}", device=device)
    if isinstance(exc, BleakDBusError):
        return DeviceUnavailable(
            f"BlueZ: {exc.dbus_error} {exc.dbus_error_details or ''}".strip(), device=device
        )
    if isinstance(exc, TimeoutError):
        return DeviceUnavailable("timed out", device=device)
    return DeviceUnavailable(f"{type(exc).__name__}: {exc}", device=device)
