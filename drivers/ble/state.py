"""Health and frames of one BLE device's data sources.

Every characteristic is a source with its own :class:`DeviceHealth`; the
link is shared, so availability changes for all of a device's sources at
once, while malformed frames and failed reads count where they happened.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from edgeward.drivers.base import DeviceHealth, Reading
from edgeward.drivers.ble.config import BleCharacteristic, BleDevice
from edgeward.drivers.errors import DriverError

logger = logging.getLogger(__name__)


def origin(address: str, characteristic: BleCharacteristic) -> str:
    """Where a frame came from, for admission to check against the registration."""
    return f"ble://{address.upper()}/{characteristic.uuid}"


class DeviceState:
    """Counts what happened to one device and queues its good frames for ``emit``."""

    def __init__(self, device: BleDevice, queue: asyncio.Queue[Reading]) -> None:
        self.device = device
        self.health = {c.source: DeviceHealth() for c in device.characteristics}
        # Frames lost because the consumer of the queue fell behind.
        self.dropped = 0
        self._queue = queue

    def up(self) -> None:
        for health in self.health.values():
            health.available = True
            health.consecutive_failures = 0

    def down(self, error: DriverError) -> None:
        for health in self.health.values():
            health.available = False
            health.failures += 1
            health.consecutive_failures += 1
            health.last_error = str(error)

    def read_failed(self, characteristic: BleCharacteristic, error: DriverError) -> None:
        health = self.health[characteristic.source]
        health.failures += 1
        health.last_error = str(error)

    def frame(self, characteristic: BleCharacteristic, address: str, value: bytes) -> None:
        """A value arrived (notification or read): count it, and queue it if usable."""
        health = self.health[characteristic.source]
        if characteristic.length is not None and len(value) != characteristic.length:
            health.malformed += 1
            logger.debug(
                "%s: %d-byte value, expected %d; dropped",
                origin(address, characteristic),
                len(value),
                characteristic.length,
            )
            return
        now = datetime.now(UTC)
        reading = Reading(characteristic.source, value, now, origin(address, characteristic))
        try:
            self._queue.put_nowait(reading)
        except asyncio.QueueFull:
            if self.dropped == 0:
                logger.warning("BLE readings are arriving faster than they are taken; dropping")
            self.dropped += 1
            return
        health.reads += 1
        health.last_success = now
