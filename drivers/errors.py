"""Exceptions of the drivers package.

::

    DriverError
    ├── DriverConfigError     misuse: a register map or address that can't work
    ├── DeviceUnavailable     retryable: no connection, timeout, device busy
    └── DeviceProtocolError   the device answered, but not with what we asked
                              (exception response, short or garbled frame)

Library errors (pymodbus, pyserial, paho, bleak) are translated into these at
the driver boundary with ``raise ... from exc`` and never leak upward.
"""

from __future__ import annotations


class DriverError(Exception):
    """Base of every error raised by :mod:`edgeward.drivers`."""

    def __init__(self, message: str, *, device: str | None = None) -> None:
        super().__init__(f"{device}: {message}" if device else message)
        self.device = device


class DriverConfigError(DriverError):
    """A device description that cannot work (overlapping registers, bad type)."""


class DeviceUnavailable(DriverError):
    """The device could not be reached this time; try again later."""


class DeviceProtocolError(DriverError):
    """The device answered with something unusable for this read.

    ``field`` and ``value`` name the field that could not be decoded and what
    it held (raw), where one field is at fault, so the layer above can say why.
    """

    def __init__(
        self,
        message: str,
        *,
        device: str | None = None,
        code: int | None = None,
        field: str | None = None,
        value: object = None,
    ) -> None:
        super().__init__(message, device=device)
        self.code = code
        self.field = field
        self.value = value
