"""Finding configured devices among the advertisements: one scan for all.

A driver serves many devices, and several may be missing at once. One
shared :class:`~bleak.BleakScanner` runs while any supervisor is waiting
for its device and stops when none is, so a device that is back is found
at its next advertisement, however many others are still away. (Separate
scans per device would also collide: BlueZ keeps one discovery session per
D-Bus client, and bleak uses one client for every scanner in a process.)

Matching happens here, on every advertisement, rather than in a BlueZ
discovery filter, because the waiters' matches differ (address, name,
service UUID) and BlueZ filters only on service UUIDs.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, NoReturn

from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from edgeward.drivers.ble.config import DeviceMatch
from edgeward.drivers.ble.errors import BLE_ERRORS, translate
from edgeward.drivers.errors import DeviceUnavailable, DriverError


class Discovery:
    """Run :meth:`run` as a task; supervisors then call :meth:`find`."""

    def __init__(self, adapter: str | None, timeout: float) -> None:
        self.adapter = adapter
        self.timeout = timeout
        self._waiters: dict[object, tuple[DeviceMatch, asyncio.Future[BLEDevice]]] = {}
        self._wanted = asyncio.Event()
        self._unwanted = asyncio.Event()
        self._unwanted.set()

    async def find(self, match: DeviceMatch, scan_seconds: float) -> BLEDevice:
        """The next advertiser ``match`` accepts; DeviceUnavailable if none in ``scan_seconds``."""
        key = object()
        future: asyncio.Future[BLEDevice] = asyncio.get_running_loop().create_future()
        self._waiters[key] = (match, future)
        self._wanted.set()
        self._unwanted.clear()
        try:
            async with asyncio.timeout(scan_seconds):
                return await future
        except TimeoutError as exc:
            raise DeviceUnavailable(
                f"not seen advertising within {scan_seconds:g}s", device=str(match)
            ) from exc
        finally:
            del self._waiters[key]
            if not self._waiters:
                self._wanted.clear()
                self._unwanted.set()

    async def run(self) -> NoReturn:
        while True:
            await self._wanted.wait()
            try:
                await self._scan_while_wanted()
            except BLE_ERRORS as exc:
                # Tell everyone waiting now, then let them leave before trying
                # again: their supervisors' backoff paces the next attempt.
                self._fail_waiters(translate(exc, "BLE scanner"))
                await self._unwanted.wait()

    async def _scan_while_wanted(self) -> None:
        extra: dict[str, Any] = {"bluez": {"adapter": self.adapter}} if self.adapter else {}
        scanner = BleakScanner(self._seen, **extra)
        # asyncio.timeout, not wait_for: see the note in session.py.
        async with asyncio.timeout(self.timeout):
            await scanner.start()
        try:
            await self._unwanted.wait()
        finally:
            with contextlib.suppress(*BLE_ERRORS):
                async with asyncio.timeout(self.timeout):
                    await scanner.stop()

    def _seen(self, device: BLEDevice, advertisement: AdvertisementData) -> None:
        name = advertisement.local_name or device.name
        for match, future in self._waiters.values():
            if not future.done() and match.matches(
                device.address, name, advertisement.service_uuids
            ):
                future.set_result(device)

    def _fail_waiters(self, error: DriverError) -> None:
        for _match, future in self._waiters.values():
            if not future.done():
                future.set_exception(error)
