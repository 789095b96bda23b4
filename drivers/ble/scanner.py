"""Finding a configured device among the advertisements.

One scan at a time per driver: BlueZ keeps one discovery session per D-Bus
client, and bleak shares one client for every scanner in a process, so two
overlapping scans would stop each other. The lock makes devices that are
all missing take turns instead.
"""

from __future__ import annotations

import asyncio

from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from edgeward.drivers.ble.config import DeviceMatch
from edgeward.drivers.ble.errors import BLE_ERRORS, translate
from edgeward.drivers.errors import DeviceUnavailable

# Beyond the scan's own timeout: starting and stopping discovery over D-Bus.
SCAN_OVERHEAD = 5.0


async def find_device(
    match: DeviceMatch, scan_seconds: float, lock: asyncio.Lock, adapter: str | None
) -> BLEDevice:
    """The first advertiser ``match`` accepts; DeviceUnavailable if none in ``scan_seconds``."""

    def accept(device: BLEDevice, advertisement: AdvertisementData) -> bool:
        return match.matches(
            device.address, advertisement.local_name or device.name, advertisement.service_uuids
        )

    # BlueZ filters on service UUIDs itself (SetDiscoveryFilter), sparing us the rest.
    service_uuids = [match.service_uuid] if match.service_uuid else []
    async with lock:
        try:
            found = await asyncio.wait_for(
                BleakScanner.find_device_by_filter(
                    accept,
                    timeout=scan_seconds,
                    service_uuids=service_uuids,
                    bluez={"adapter": adapter} if adapter else {},
                ),
                scan_seconds + SCAN_OVERHEAD,
            )
        except BLE_ERRORS as exc:
            raise translate(exc, str(match)) from exc
    if found is None:
        raise DeviceUnavailable(f"not seen advertising within {scan_seconds:g}s", device=str(match))
    return found
