"""The request/response serial driver: a device that answers when asked.

A :class:`~edgeward.drivers.base.PollingDriver`, so the gateway's poll
coordinator owns the schedule and availability exactly as for Modbus. Each
poll writes the request (framed like the answers), and takes the first frame
within ``timeout`` as the answer. No answer is DeviceUnavailable; bytes that
came but never framed are DeviceProtocolError (the coordinator counts them
as malformed). A port error closes the port; the next poll reopens it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from edgeward.drivers.base import PollingDriver, Reading
from edgeward.drivers.errors import DeviceProtocolError, DeviceUnavailable
from edgeward.drivers.serial.framing import Framer
from edgeward.drivers.serial.port import SerialPort, SerialSettings


class SerialPollingDriver(PollingDriver):
    def __init__(
        self,
        settings: SerialSettings,
        source: str,
        framer: Framer,
        request: bytes,
        *,
        timeout: float = 1.0,
    ) -> None:
        self.port = SerialPort(settings)
        self.source = source
        self.framer = framer
        self.request = framer.encode(request)
        self.timeout = timeout
        # One question at a time on the wire, whoever asks.
        self._lock = asyncio.Lock()

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.source,)

    async def open(self) -> None:
        if not self.port.is_open:
            await self.port.open()

    async def close(self) -> None:
        self.port.close()

    async def poll(self, source: str) -> Reading:
        async with self._lock:
            try:
                await self.open()
                frame = await self._ask()
            except DeviceUnavailable:
                self.port.close()
                raise
        return Reading(
            source=self.source, raw=frame, time=datetime.now(UTC), origin=self.port.origin
        )

    async def _ask(self) -> bytes:
        self.port.discard_input()
        self.framer.reset()
        await self.port.write(self.request)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        malformed = 0
        while (left := deadline - loop.time()) > 0:
            try:
                data = await self.port.read(left)
            except TimeoutError:
                break
            frames, bad = self.framer.feed(data)
            malformed += bad
            if frames:
                return frames[0]
        if malformed:
            raise DeviceProtocolError(
                f"malformed frame: {malformed} piece(s) and no answer within {self.timeout:g}s",
                device=self.port.origin,
            )
        raise DeviceUnavailable(f"no answer within {self.timeout:g}s", device=self.port.origin)
