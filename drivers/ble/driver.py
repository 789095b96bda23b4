"""The BLE driver: several devices through one adapter, each kept connected by
its own supervisor, their frames handed to ``emit`` in arrival order.

bleak runs the BlueZ D-Bus conversation (on Linux); this package decides
what to read and keeps at it. Frames pass through a bounded queue so that a
slow ``emit`` (the outbox committing to disk) never blocks bleak's D-Bus
callbacks; if it falls far behind, frames are dropped and counted in
:attr:`BleDriver.dropped` rather than growing memory without bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from edgeward.drivers.base import DeviceHealth, Emit, Reading, StreamingDriver
from edgeward.drivers.ble.config import BleDevice
from edgeward.drivers.ble.discovery import Discovery
from edgeward.drivers.ble.state import DeviceState
from edgeward.drivers.ble.supervisor import DeviceSupervisor, Timing
from edgeward.drivers.errors import DriverConfigError

QUEUE_SIZE = 1024


class BleDriver(StreamingDriver):
    """Reads ``devices`` through the BlueZ adapter ``adapter`` (default: the first powered)."""

    def __init__(
        self,
        devices: list[BleDevice],
        *,
        adapter: str | None = None,
        timing: Timing | None = None,
    ) -> None:
        if not devices:
            raise DriverConfigError("no BLE devices configured")
        sources = [c.source for device in devices for c in device.characteristics]
        if len(set(sources)) != len(sources):
            raise DriverConfigError("a BLE source is configured twice")
        matches = [device.match for device in devices]
        if len(set(matches)) != len(matches):
            raise DriverConfigError("two BLE devices are configured with the same match")
        self.devices = tuple(devices)
        self.adapter = adapter
        self.timing = timing or Timing()
        self._sources = tuple(sources)
        self._queue: asyncio.Queue[Reading] = asyncio.Queue(QUEUE_SIZE)
        self._states = [DeviceState(device, self._queue) for device in devices]

    @property
    def sources(self) -> tuple[str, ...]:
        return self._sources

    @property
    def dropped(self) -> int:
        return sum(state.dropped for state in self._states)

    def health(self) -> Mapping[str, DeviceHealth]:
        return {source: h for state in self._states for source, h in state.health.items()}

    async def run(self, emit: Emit) -> None:
        discovery = Discovery(self.adapter, self.timing.timeout)
        async with asyncio.TaskGroup() as group:
            group.create_task(discovery.run())
            for state in self._states:
                supervisor = DeviceSupervisor(
                    state.device, state, self.timing, discovery, self.adapter
                )
                group.create_task(supervisor.run())
            group.create_task(self._forward(emit))

    async def _forward(self, emit: Emit) -> None:
        while True:
            reading = await self._queue.get()
            await emit(reading)
