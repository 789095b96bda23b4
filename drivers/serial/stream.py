"""The streaming serial driver: a device that talks by itself, one data source per port.

It owns its port: opens it, hands every frame up, and after any failure
closes it, logs once, and reopens it with jittered backoff until the port is
back. No frame for ``stale_after`` seconds marks the device unavailable
without closing anything. Garbage that doesn't frame is counted in
``DeviceHealth.malformed`` and becomes the device's ``last_error``
("malformed frame ..."), so a device whose every frame is garbage says so
rather than nothing; a device that has sent nothing yet has no error at all
(status shows it waiting for data).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from datetime import UTC, datetime

from edgeward.drivers.base import DeviceHealth, Emit, Reading, StreamingDriver
from edgeward.drivers.errors import DeviceUnavailable
from edgeward.drivers.serial.framing import Framer
from edgeward.drivers.serial.port import SerialPort, SerialSettings

log = logging.getLogger(__name__)


class SerialDriver(StreamingDriver):
    def __init__(
        self,
        settings: SerialSettings,
        source: str,
        framer: Framer,
        *,
        stale_after: float = 30.0,
        backoff_max: float = 5.0,
    ) -> None:
        self.port = SerialPort(settings)
        self.source = source
        self.framer = framer
        self.stale_after = stale_after
        self.backoff_max = backoff_max
        self._health = DeviceHealth()

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.source,)

    @property
    def origin(self) -> str:
        return self.port.origin

    def health(self) -> Mapping[str, DeviceHealth]:
        return {self.source: self._health}

    async def run(self, emit: Emit) -> None:
        wait = 0.05
        while True:
            try:
                await self.port.open()
                wait = 0.05
                # Opened while the device talks: the first bytes may be a frame's tail.
                self.framer.reset(mid_stream=True)
                await self._stream(emit)
            except DeviceUnavailable as exc:
                self._failed(str(exc))
            finally:
                self.port.close()
            # Full jitter, doubling: a flapping port is not hammered.
            await asyncio.sleep(random.uniform(wait / 2, wait))  # noqa: S311 - jitter
            wait = min(wait * 2, self.backoff_max)

    async def _stream(self, emit: Emit) -> None:
        loop = asyncio.get_running_loop()
        last_frame = loop.time()
        while True:
            try:
                data = await self.port.read(self.stale_after)
            except TimeoutError:
                self._failed(f"no frame for {self.stale_after:g}s")
                continue
            frames, malformed = self.framer.feed(data)
            if malformed:
                self._malformed(malformed)
            if not frames and loop.time() - last_frame > self.stale_after:
                # Bytes that never frame (a wrong baud rate, a faulty device) are
                # no better than silence: the timeout above never fires on them.
                self._failed(f"no frame for {self.stale_after:g}s, only noise")
                last_frame = loop.time()
            for frame in frames:
                last_frame = loop.time()
                now = datetime.now(UTC)
                self._succeeded(now)
                await emit(Reading(source=self.source, raw=frame, time=now, origin=self.origin))

    def _malformed(self, count: int) -> None:
        health = self._health
        health.malformed += count
        health.last_error = (
            f"malformed frame ({health.malformed} since start) on {self.port.settings.port}"
        )

    def _succeeded(self, now: datetime) -> None:
        if not self._health.available:
            log.info("%s is available on %s", self.source, self.port.settings.port)
        self._health.available = True
        self._health.reads += 1
        self._health.consecutive_failures = 0
        self._health.last_success = now

    def _failed(self, reason: str) -> None:
        health = self._health
        if health.available or health.reads == health.failures == 0:
            log.warning("%s is unavailable on %s: %s", self.source, self.port.settings.port, reason)
        health.available = False
        health.failures += 1
        health.consecutive_failures += 1
        health.last_error = reason
