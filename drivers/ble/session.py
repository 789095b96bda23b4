"""One connection to one device: subscribe, poll, and notice when it ends.

A session never returns normally: it raises once the link is gone, so the
supervisor above it has one path for every way a connection ends (the
device dropped it, BlueZ reported it, reads kept failing, or connecting
failed in the first place).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, NoReturn

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice

from edgeward.drivers.ble.config import BleCharacteristic, BleDevice, Mode
from edgeward.drivers.ble.errors import BLE_ERRORS, translate
from edgeward.drivers.ble.state import DeviceState
from edgeward.drivers.cancellation import raise_if_cancelling
from edgeward.drivers.errors import DeviceProtocolError, DeviceUnavailable, DriverError

# Every wait below is ``asyncio.timeout``, never ``asyncio.wait_for``: on
# Python 3.11 wait_for can swallow a cancellation that lands as the awaited
# call completes (https://github.com/python/cpython/issues/86296), and a poll
# loop that missed its cancel would keep a stopped driver reading forever.

# Reads that fail one after another before the link counts as broken even
# though BlueZ still calls it connected (a device that stopped answering).
MAX_FAILED_READS = 3


class Session:
    def __init__(
        self, device: BleDevice, state: DeviceState, timeout: float, adapter: str | None
    ) -> None:
        self.device = device
        self.state = state
        self.timeout = timeout
        self.adapter = adapter
        self._ended = asyncio.Event()
        self._reason: DriverError | None = None

    def _end(self, reason: DriverError) -> None:
        if not self._ended.is_set():
            self._reason = reason
            self._ended.set()

    async def run(self, target: BLEDevice, on_up: Callable[[str], None]) -> NoReturn:
        """Connect to ``target`` and read until the link ends; then raise why."""
        where = f"ble://{target.address}"
        extra: dict[str, Any] = {"bluez": {"adapter": self.adapter}} if self.adapter else {}
        client = BleakClient(
            target,
            disconnected_callback=lambda _client: self._end(
                DeviceUnavailable("disconnected", device=where)
            ),
            timeout=self.timeout,
            **extra,
        )
        polls: list[asyncio.Task[None]] = []
        try:
            await self._connect(client, target.address, where)
            on_up(target.address)
            polls = [
                asyncio.create_task(self._poll(client, c, target.address, where))
                for c in self.device.characteristics
                if c.mode is Mode.POLL
            ]
            await self._ended.wait()
            assert self._reason is not None
            raise self._reason
        finally:
            for task in polls:
                task.cancel()
            await asyncio.gather(*polls, return_exceptions=True)
            with contextlib.suppress(*BLE_ERRORS):
                async with asyncio.timeout(self.timeout):
                    await client.disconnect()

    async def _connect(self, client: BleakClient, address: str, where: str) -> None:
        try:
            async with asyncio.timeout(self.timeout):
                await client.connect()
            self._check_characteristics(client, where)
            for characteristic in self.device.characteristics:
                if characteristic.mode is Mode.NOTIFY:
                    async with asyncio.timeout(self.timeout):
                        await client.start_notify(
                            characteristic.uuid, self._notification(characteristic, address)
                        )
        except BLE_ERRORS as exc:
            raise translate(exc, where) from exc

    def _check_characteristics(self, client: BleakClient, where: str) -> None:
        """Say which configured characteristics the device lacks, all in one
        error per connection, rather than as a stream of failed reads."""
        missing = [
            c.uuid
            for c in self.device.characteristics
            if client.services.get_characteristic(c.uuid) is None
        ]
        if missing:
            raise DeviceProtocolError(
                f"has no characteristic {', '.join(missing)} (source {self.device.source})",
                device=where,
            )

    def _notification(
        self, characteristic: BleCharacteristic, address: str
    ) -> Callable[[BleakGATTCharacteristic, bytearray], None]:
        def on_value(_sender: BleakGATTCharacteristic, value: bytearray) -> None:
            self.state.frame(characteristic, address, bytes(value))

        return on_value

    async def _poll(
        self, client: BleakClient, characteristic: BleCharacteristic, address: str, where: str
    ) -> None:
        """Read on a fixed rate (not a fixed gap), so slow reads do not drift the period."""
        loop = asyncio.get_running_loop()
        failures = 0
        due = loop.time()
        while True:
            try:
                async with asyncio.timeout(self.timeout):
                    value = await client.read_gatt_char(characteristic.uuid)
            except BLE_ERRORS as exc:
                error = translate(exc, f"{where}/{characteristic.uuid}")
                self.state.read_failed(error)
                failures += 1
                if failures >= MAX_FAILED_READS:
                    self._end(
                        DeviceUnavailable(f"{failures} reads failed, last: {error}", device=where)
                    )
                    return
            else:
                failures = 0
                self.state.frame(characteristic, address, bytes(value))
            raise_if_cancelling()  # a read that raced a stop must not outlive it
            due = max(due + characteristic.poll_interval, loop.time())
            await asyncio.sleep(due - loop.time())
