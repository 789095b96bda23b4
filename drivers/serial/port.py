"""One serial port (pyserial), read through the event loop with a deadline on every I/O.

The port is read without a thread and without busy waiting: the event loop
watches the file descriptor (``add_reader``) and :meth:`SerialPort.read`
takes only what is waiting. A vanished port (USB adapter pulled, socat
killed) shows up as a read or write error, raised as DeviceUnavailable; the
drivers built on this close the port and open it again later.
"""

from __future__ import annotations

import asyncio
import termios
from dataclasses import dataclass

import serial

from edgeward.drivers.errors import DeviceUnavailable, DriverConfigError

PARITIES = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}
OPEN_TIMEOUT = 5.0
WRITE_TIMEOUT = 1.0


@dataclass(frozen=True, slots=True)
class SerialSettings:
    port: str
    baudrate: int = 9600
    parity: str = "N"
    bytesize: int = 8
    stopbits: int = 1


class SerialPort:
    # asyncio.timeout, not wait_for, throughout: on 3.11 wait_for can turn a
    # cancellation racing its timeout into TimeoutError (CPython gh-86296),
    # and a driver loop would then never stop.

    def __init__(self, settings: SerialSettings) -> None:
        if settings.parity not in PARITIES:
            raise DriverConfigError(f"parity must be one of {tuple(PARITIES)}")
        self.settings = settings
        self.origin = f"serial://{settings.port}"
        self._port: serial.Serial | None = None

    @property
    def is_open(self) -> bool:
        return self._port is not None

    async def open(self) -> None:
        settings = self.settings

        def open_port() -> serial.Serial:
            return serial.Serial(
                settings.port,
                baudrate=settings.baudrate,
                parity=PARITIES[settings.parity],
                bytesize=settings.bytesize,
                stopbits=settings.stopbits,
                timeout=0,  # reads return what is waiting; the event loop does the waiting
                write_timeout=WRITE_TIMEOUT,
                exclusive=True,
            )

        try:
            async with asyncio.timeout(OPEN_TIMEOUT):
                self._port = await asyncio.to_thread(open_port)
        except (TimeoutError, OSError, ValueError, serial.SerialException) as exc:
            raise DeviceUnavailable(f"cannot open: {exc}", device=self.origin) from exc

    def close(self) -> None:
        if self._port is not None:
            self._port.close()
            self._port = None

    async def read(self, within: float) -> bytes:
        """Wait until the port is readable (TimeoutError after ``within`` s), then read."""
        port = self._require()
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

    async def write(self, data: bytes) -> None:
        port = self._require()
        try:
            async with asyncio.timeout(WRITE_TIMEOUT * 2):
                await asyncio.to_thread(port.write, data)
        except (TimeoutError, OSError, serial.SerialException) as exc:
            raise DeviceUnavailable(f"write failed: {exc}", device=self.origin) from exc

    def discard_input(self) -> None:
        """Drop what is waiting: a late answer to an earlier request is not this one's."""
        try:
            self._require().reset_input_buffer()
        # A hung-up tty fails tcflush with termios.error, which is no OSError.
        except (OSError, termios.error, serial.SerialException) as exc:
            raise DeviceUnavailable(f"flush failed: {exc}", device=self.origin) from exc

    def _require(self) -> serial.Serial:
        if self._port is None:
            raise DeviceUnavailable("the port is not open", device=self.origin)
        return self._port
