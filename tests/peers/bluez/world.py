"""The whole BLE peer chain on one thread: private dbus-daemon, BlueZ stand-in,
bumble central and bumble peripherals on one in-memory link.

bumble's LocalLink delivers packets with ``call_soon`` on the running loop,
so every bumble device and the stand-in's D-Bus connection live on one loop,
on a thread of their own. The test's loop, where bleak and the driver run,
stays free; the two talk only through the dbus-daemon, as a gateway and
bluetoothd would. Tests change the peripherals with :meth:`BleWorld.run`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from bumble.controller import Controller
from bumble.device import Device
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink
from dbus_fast import BusType
from dbus_fast.aio import MessageBus

from edgeward.drivers.simulators.ble_peripheral import EnvironmentalSensor
from tests.peers.bluez.bus import PrivateBus
from tests.peers.bluez.standin import BlueZStandIn

T = TypeVar("T")
CENTRAL_ADDRESS = "F0:00:00:00:00:01"
CALL_TIMEOUT = 15.0


class BleWorld:
    """Start with ``with BleWorld(tmp_path) as world:``; then point bleak at
    ``world.bus_address`` through ``DBUS_SYSTEM_BUS_ADDRESS``."""

    def __init__(self, directory: Path) -> None:
        self._bus = PrivateBus(directory)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.link: LocalLink | None = None
        self.standin: BlueZStandIn | None = None
        self._dbus: MessageBus | None = None
        self.sensors: dict[str, EnvironmentalSensor] = {}

    @property
    def bus_address(self) -> str:
        return self._bus.address

    def start(self) -> BleWorld:
        self._bus.start()
        self._thread.start()
        self.run(self._start_central)
        return self

    async def _start_central(self) -> None:
        self.link = LocalLink()
        controller = Controller("central", link=self.link, public_address=CENTRAL_ADDRESS)
        central = Device(
            name="central",
            address=Address(CENTRAL_ADDRESS),
            host=Host(controller, AsyncPipeSink(controller)),
        )
        await central.power_on()
        self._dbus = await MessageBus(
            bus_address=self._bus.address, bus_type=BusType.SYSTEM
        ).connect()
        self.standin = BlueZStandIn(self._dbus, central)
        await self.standin.start()

    def add_sensor(
        self,
        address: str,
        name: str,
        custom: Mapping[str, bytes] | None = None,
        **values: float | None,
    ) -> EnvironmentalSensor:
        """A new advertising sensor on the link (``custom``: vendor characteristics)."""

        async def create() -> EnvironmentalSensor:
            assert self.link is not None
            sensor = EnvironmentalSensor(self.link, address, name, custom=custom, **values)
            await sensor.start()
            return sensor

        sensor = self.run(create)
        self.sensors[address] = sensor
        return sensor

    def run(self, coroutine_function: Callable[[], Awaitable[T]]) -> T:
        """Run on the world's loop and wait, from any thread but that one."""

        async def call() -> T:
            return await coroutine_function()

        future: Future[T] = asyncio.run_coroutine_threadsafe(call(), self._loop)
        return future.result(timeout=CALL_TIMEOUT)

    async def run_async(self, coroutine_function: Callable[[], Awaitable[T]]) -> T:
        """:meth:`run` for a caller on another event loop, without blocking it."""
        return await asyncio.get_running_loop().run_in_executor(None, self.run, coroutine_function)

    def stop(self) -> None:
        if self._thread.is_alive():
            if self._dbus is not None:
                self._loop.call_soon_threadsafe(self._dbus.disconnect)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop.close()
        self._bus.stop()

    def __enter__(self) -> BleWorld:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
