"""Serial devices (pyserial): framers that cut a byte stream into frames, one port
helper, a streaming driver and a request/response (polling) driver."""

from edgeward.drivers.serial.framing import (
    Framer,
    LengthPrefixedFramer,
    LineFramer,
    StxEtxFramer,
)
from edgeward.drivers.serial.polled import SerialPollingDriver
from edgeward.drivers.serial.port import SerialPort, SerialSettings
from edgeward.drivers.serial.stream import SerialDriver

__all__ = [
    "Framer",
    "LengthPrefixedFramer",
    "LineFramer",
    "SerialDriver",
    "SerialPollingDriver",
    "SerialPort",
    "SerialSettings",
    "StxEtxFramer",
]
