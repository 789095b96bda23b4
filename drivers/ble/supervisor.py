"""Keeping one device connected: find it, run a session, and after any end
wait with backoff and start again, forever.

The one place that knows a device's availability: it logs once when the
device goes down (however many attempts fail after that) and once when it
is back, marks its source unavailable in between, and never raises: one
device's trouble never stops the others.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from edgeward.drivers.backoff import Backoff
from edgeward.drivers.ble.config import BleDevice
from edgeward.drivers.ble.discovery import Discovery
from edgeward.drivers.ble.session import Session
from edgeward.drivers.ble.state import DeviceState
from edgeward.drivers.errors import DriverError

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Timing:
    """How long each step may take, and how long to wait between attempts."""

    scan_timeout: float = 10.0
    timeout: float = 10.0
    backoff_initial: float = 1.0
    backoff_max: float = 60.0


class DeviceSupervisor:
    def __init__(
        self,
        device: BleDevice,
        state: DeviceState,
        timing: Timing,
        discovery: Discovery,
        adapter: str | None,
    ) -> None:
        self.device = device
        self.state = state
        self.timing = timing
        self.adapter = adapter
        self._discovery = discovery
        self._backoff = Backoff(timing.backoff_initial, timing.backoff_max)
        self._down = False

    async def run(self) -> None:
        while True:
            try:
                target = await self._discovery.find(self.device.match, self.timing.scan_timeout)
                session = Session(self.device, self.state, self.timing.timeout, self.adapter)
                await session.run(target, self._up)
            except DriverError as exc:
                self._failed(exc)
            await asyncio.sleep(self._backoff.next())

    def _up(self, address: str) -> None:
        self.state.up()
        self._backoff.reset()
        if self._down:
            logger.warning("BLE device %s is back (%s)", self.device, address)
            self._down = False
        else:
            logger.info("BLE device %s connected (%s)", self.device, address)

    def _failed(self, error: DriverError) -> None:
        self.state.down(error)
        if not self._down:
            logger.warning("BLE device %s is unavailable: %s", self.device, error)
            self._down = True
        else:
            logger.debug("BLE device %s still unavailable: %s", self.device, error)
