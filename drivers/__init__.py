"""Device I/O: one driver interface, a module per transport.

Drivers move frames and readings; decoding and admission live above them in
the gateway, so every transport shares them. A driver never dies on garbage
from a device: it raises a :class:`DeviceProtocolError` for that read and
stays usable.
"""

from edgeward.drivers.base import DeviceHealth, Emit, PollingDriver, Reading, StreamingDriver
from edgeward.drivers.errors import (
    DeviceProtocolError,
    DeviceUnavailable,
    DriverConfigError,
    DriverError,
)

__all__ = [
    "DeviceHealth",
    "DeviceProtocolError",
    "DeviceUnavailable",
    "DriverConfigError",
    "DriverError",
    "Emit",
    "PollingDriver",
    "Reading",
    "StreamingDriver",
]
