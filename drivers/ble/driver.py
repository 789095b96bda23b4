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
from collections.abc import Callable, Mapping

from edgeward.drivers.base import DeviceHealth, Emit, Reading, StreamingDriver
from edgeward.drivers.ble.config import BleDevice
from edgeward.drivers.ble.discovery import Discovery
from edgeward.drivers.ble.state import DeviceState
from edgeward.drivers.ble.supervisor import DeviceSupervisor, Timing
from edgeward.drivers.errors import DriverConfigError

QUEUE_SIZE = 1024


def _refuse_duplicates(devices: list[BleDevice]) -> None:
    """Two entries for one device, or one source for two devices, cannot work.

    Two supervisors on one device would share BlueZ's single link to it and
    each end it for the other; one source fed by two devices would mix
    their readings under one name. Same address counts as same device
    even when the entries' names or services differ.
    """
    keys: dict[str, Callable[[BleDevice], object]] = {
        "match": lambda d: d.match,
        "address": lambda d: d.match.address,
        "source": lambda d: d.source,
    }
    for what, key in keys.items():
        first: dict[object, BleDevice] = {}
        for device in devices:
            value = key(device)
            if value is None:
                continue
            if value in first:
                raise DriverConfigError(
                    f"BLE devices {first[value]} and {device} have the same {what}"
                    f" ({value}): one device is one entry with one source"
                )
            first[value] = device


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
        _refuse_duplicates(devices)
        self.devices = tuple(devices)
        self.adapter = adapter
        self.timing = timing or Timing()
        self._sources = tuple(device.source for device in devices)
        self._queue: asyncio.Queue[Reading] = asyncio.Queue(QUEUE_SIZE)
        self._states = [DeviceState(device, self._queue) for device in devices]

    @property
    def sources(self) -> tuple[str, ...]:
        return self._sources

    @property
    def dropped(self) -> int:
        return sum(state.dropped for state in self._states)

    def health(self) -> Mapping[str, DeviceHealth]:
        return {state.device.source: state.health for state in self._states}

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
