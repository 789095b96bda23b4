"""Health and frames of one BLE device, which is one data source.

Every characteristic's values are readings of the device's source, told
apart by their origin (``ble://<ADDRESS>/<uuid>``): admission picks the
layout that decodes each by the UUID at its end. The driver does not judge
the bytes; a value the layout cannot read is refused and counted there.
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
    """Where a frame came from, for admission to check against the binding
    and to choose the characteristic's layout."""
    return f"ble://{address.upper()}/{characteristic.uuid}"


class DeviceState:
    """Counts what happened to one device and queues its frames for ``emit``."""

    def __init__(self, device: BleDevice, queue: asyncio.Queue[Reading]) -> None:
        self.device = device
        self.health = DeviceHealth()
        # Frames lost because the consumer of the queue fell behind.
        self.dropped = 0
        self._queue = queue

    def up(self) -> None:
        self.health.available = True
        self.health.consecutive_failures = 0

    def down(self, error: DriverError) -> None:
        self.health.available = False
        self.health.failures += 1
        self.health.consecutive_failures += 1
        self.health.last_error = str(error)

    def read_failed(self, error: DriverError) -> None:
        """One polled read failed; the link may still be fine (the session decides)."""
        self.health.failures += 1
        self.health.last_error = str(error)

    def frame(self, characteristic: BleCharacteristic, address: str, value: bytes) -> None:
        """A value arrived (notification or read): queue it as a reading of the device's source."""
        now = datetime.now(UTC)
        reading = Reading(self.device.source, value, now, origin(address, characteristic))
        try:
            self._queue.put_nowait(reading)
        except asyncio.QueueFull:
            if self.dropped == 0:
                logger.warning("BLE readings are arriving faster than they are taken; dropping")
            self.dropped += 1
            return
        self.health.reads += 1
        self.health.last_success = now
