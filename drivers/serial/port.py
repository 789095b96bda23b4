"""The serial port driver (pyserial): one port, one device, one data source.

Streaming devices talk by themselves; request/response devices answer a
request the driver writes every ``poll_interval``. Both run inside
:meth:`SerialDriver.run`, because one port has one reader: a poll loop
outside it would race the stream for the same bytes.

The port is read without a thread and without busy waiting: the event loop
watches the file descriptor (``add_reader``) and the driver reads only what
is waiting. A vanished port (USB adapter pulled, socat killed) shows up as a
read error; the driver closes it, logs once, and reopens it with backoff
until it is back.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import serial

from edgeward.drivers.base import DeviceHealth, Emit, Reading, StreamingDriver
from edgeward.drivers.errors import DeviceUnavailable, DriverConfigError
from edgeward.drivers.serial.framing import Framer

log = logging.getLogger(__name__)

PARITIES = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}
OPEN_TIMEOUT = 5.0
WRITE_TIMEOUT = 1.0
READ_SIZE = 4096


@dataclass(frozen=True, slots=True)
class SerialSettings:
    port: str
    baudrate: int = 9600
    parity: str = "N"
    bytesize: int = 8
    stopbits: int = 1


@dataclass(frozen=True, slots=True)
class Requests:
    """Request/response mode: write ``request`` every ``interval``; the answer is
    the first frame within ``timeout``."""

    request: bytes
    interval: float = 1.0
    timeout: float = 1.0


class SerialDriver(StreamingDriver):
    def __init__(
        self,
        settings: SerialSettings,
        source: str,
        framer: Framer,
        *,
        requests: Requests | None = None,
        stale_after: float = 30.0,
        backoff_max: float = 5.0,
    ) -> None:
        if settings.parity not in PARITIES:
            raise DriverConfigError(f"parity must be one of {tuple(PARITIES)}")
        self.settings = settings
        self.source = source
        self.framer = framer
        self.requests = requests
        # Streaming: no frame for this long marks the device unavailable.
        self.stale_after = stale_after
        self.backoff_max = backoff_max
        self._health = DeviceHealth()
        self.origin = f"serial://{settings.port}"

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.source,)

    def health(self) -> Mapping[str, DeviceHealth]:
        return {self.source: self._health}

    async def run(self, emit: Emit) -> None:
        wait = 0.05
        while True:
            port: serial.Serial | None = None
            try:
                port = await self._open()
                wait = 0.05
                self.framer.reset(mid_stream=self.requests is None)
                if self.requests is None:
                    await self._stream(port, emit)
                else:
                    await self._ask(port, emit, self.requests)
            except DeviceUnavailable as exc:
                self._failed(str(exc))
            finally:
                if port is not None:
                    port.close()
            # Full jitter, doubling: a flapping port is not hammered.
            await asyncio.sleep(random.uniform(wait / 2, wait))  # noqa: S311 - jitter
            wait = min(wait * 2, self.backoff_max)

    async def _open(self) -> serial.Serial:
        def open_port() -> serial.Serial:
            return serial.Serial(
                self.settings.port,
                baudrate=self.settings.baudrate,
                parity=PARITIES[self.settings.parity],
                bytesize=self.settings.bytesize,
                stopbits=self.settings.stopbits,
                timeout=0,  # reads return what is waiting; the event loop does the waiting
                write_timeout=WRITE_TIMEOUT,
                exclusive=True,
            )

        try:
            # asyncio.timeout, not wait_for, throughout: on 3.11 wait_for can turn
            # a cancellation racing its timeout into TimeoutError (CPython
            # gh-86296), and run() would then never stop.
            async with asyncio.timeout(OPEN_TIMEOUT):
                return await asyncio.to_thread(open_port)
        except (TimeoutError, OSError, ValueError, serial.SerialException) as exc:
            raise DeviceUnavailable(f"cannot open: {exc}", device=self.origin) from exc

    async def _stream(self, port: serial.Serial, emit: Emit) -> None:
        while True:
            try:
                data = await self._read(port, self.stale_after)
            except TimeoutError:
                self._failed(f"no frame for {self.stale_after:g}s")
                continue
            await self._frames(data, emit)

    async def _ask(self, port: serial.Serial, emit: Emit, requests: Requests) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        request = self.framer.encode(requests.request)
        while True:
            port.reset_input_buffer()  # a late answer to the last request is not this one's
            await self._write(port, request)
            deadline = loop.time() + requests.timeout
            answered = False
            while not answered and (left := deadline - loop.time()) > 0:
                try:
                    answered = await self._frames(await self._read(port, left), emit, first=True)
                except TimeoutError:
                    break
            if not answered:
                self._failed(f"no answer within {requests.timeout:g}s")
            due = max(due + requests.interval, loop.time())
            await asyncio.sleep(due - loop.time())

    async def _frames(self, data: bytes, emit: Emit, *, first: bool = False) -> bool:
        """Emit the frames ``data`` completed (only the first if ``first``)."""
        frames, malformed = self.framer.feed(data)
        self._health.malformed += malformed
        for frame in frames[:1] if first else frames:
            now = datetime.now(UTC)
            self._succeeded(now)
            await emit(Reading(source=self.source, raw=frame, time=now, origin=self.origin))
        return bool(frames)

    async def _read(self, port: serial.Serial, within: float) -> bytes:
        """Wait until the port is readable (TimeoutError after ``within`` s), then read."""
        loop = asyncio.get_running_loop()
        readable: asyncio.Future[None] = loop.create_future()

        def ready() -> None:
            if not readable.done():
                readable.set_result(None)

        fd = port.fileno()
        loop.add_reader(fd, ready)
        try:
            async with asyncio.timeout(within):
                await readable
        finally:
            loop.remove_reader(fd)
        try:
            data: bytes = port.read(max(port.in_waiting, 1))
        except (OSError, serial.SerialException) as exc:
            raise DeviceUnavailable(f"read failed: {exc}", device=self.origin) from exc
        if not data:
            # Readable with nothing to read is how a hung-up tty says goodbye.
            raise DeviceUnavailable("the port hung up", device=self.origin)
        return data

    async def _write(self, port: serial.Serial, data: bytes) -> None:
        try:
            async with asyncio.timeout(WRITE_TIMEOUT * 2):
                await asyncio.to_thread(port.write, data)
        except (TimeoutError, OSError, serial.SerialException) as exc:
            raise DeviceUnavailable(f"write failed: {exc}", device=self.origin) from exc

    def _succeeded(self, now: datetime) -> None:
        if not self._health.available:
            log.info("%s is available on %s", self.source, self.settings.port)
        self._health.available = True
        self._health.reads += 1
        self._health.consecutive_failures = 0
        self._health.last_success = now

    def _failed(self, reason: str) -> None:
        health = self._health
        if health.available or health.reads == health.failures == 0:
            log.warning("%s is unavailable on %s: %s", self.source, self.settings.port, reason)
        health.available = False
        health.failures += 1
        health.consecutive_failures += 1
        health.last_error = reason
