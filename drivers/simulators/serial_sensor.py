"""A serial sensor: the program at the far end of a serial cable, for the demo and tests.

It writes readings as ``counter,temperature,humidity`` text frames, either on
its own every ``interval`` (streaming) or once per request it receives
(request/response). The counter starts at 1 and rises by one per frame, so a
reader can tell a lost frame from a duplicate; ``temperature`` and
``humidity`` follow from it (:func:`values_for`). With ``garbage_every`` it
sends junk before every Nth frame, the way a noisy line does.

If its port vanishes it reopens it until it is back, like real firmware
behind a USB adapter that was unplugged.
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass

import serial

from edgeward.drivers.serial.framing import (
    Checksum,
    Framer,
    LengthPrefixedFramer,
    LineFramer,
    StxEtxFramer,
)

PROTOCOLS = ("line", "stx", "length")
REOPEN_INTERVAL = 0.1
READ_TIMEOUT = 0.05


def make_framer(protocol: str) -> Framer:
    if protocol == "line":
        return LineFramer(b"\n")
    if protocol == "stx":
        return StxEtxFramer(Checksum.XOR)
    return LengthPrefixedFramer(1)


def values_for(counter: int) -> tuple[float, float]:
    """(temperature, humidity) of frame number ``counter``."""
    return round(20.0 + (counter % 50) * 0.1, 2), float(40 + counter % 10)


def payload_for(counter: int) -> bytes:
    temperature, humidity = values_for(counter)
    return f"{counter},{temperature:.2f},{humidity:.1f}".encode()


def garbage_for(protocol: str) -> bytes:
    """Junk each framer must drop and count: a bad checksum, a zero length, a binary line."""
    if protocol == "stx":
        return bytes([0x02]) + b"9,99.99,99.0" + bytes([0x03, 0x00]) + b"\xff\xfe"
    if protocol == "length":
        return b"\x00"
    return b"\xff\xfe\xfd not a reading\n"


@dataclass
class SerialSensor:
    port: str
    protocol: str = "line"
    interval: float = 0.1
    respond_to: bytes | None = None
    garbage_every: int = 0
    baudrate: int = 9600

    def __post_init__(self) -> None:
        self.stop = threading.Event()
        self.counter = 0
        self.framer = make_framer(self.protocol)

    def next_frame(self) -> bytes:
        self.counter += 1
        junk = b""
        if self.garbage_every and self.counter % self.garbage_every == 0:
            junk = garbage_for(self.protocol)
        return junk + self.framer.encode(payload_for(self.counter))

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                with serial.Serial(self.port, self.baudrate, timeout=READ_TIMEOUT) as port:
                    # Tests wait for this line: bytes sent before it are flushed by open.
                    print(f"serial-sensor: open {self.port}", flush=True)
                    self.framer.reset()
                    self._serve(port)
            except (OSError, serial.SerialException):
                self.stop.wait(REOPEN_INTERVAL)

    def _serve(self, port: serial.Serial) -> None:
        while not self.stop.is_set():
            if self.respond_to is None:
                port.write(self.next_frame())
                self.stop.wait(self.interval)
                continue
            requests, _ = self.framer.feed(port.read(max(port.in_waiting, 1)))
            for request in requests:
                if request == self.respond_to:
                    port.write(self.next_frame())


def run_serial_sensor(
    port: str,
    protocol: str,
    interval: float,
    respond_to: str | None,
    garbage_every: int,
    baudrate: int,
) -> int:
    sensor = SerialSensor(
        port,
        protocol,
        interval,
        respond_to.encode() if respond_to is not None else None,
        garbage_every,
        baudrate,
    )
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: sensor.stop.set())
    sensor.run()
    return 0
