"""Serial devices (pyserial): framers that cut a byte stream into frames, and the port driver."""

from edgeward.drivers.serial.framing import (
    Framer,
    LengthPrefixedFramer,
    LineFramer,
    StxEtxFramer,
)
from edgeward.drivers.serial.port import SerialDriver, SerialSettings

__all__ = [
    "Framer",
    "LengthPrefixedFramer",
    "LineFramer",
    "SerialDriver",
    "SerialSettings",
    "StxEtxFramer",
]
