"""The one driver contract every transport implements."""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Reading:
    """What a driver hands upward: raw bytes from one source at one time.

    ``origin`` says where the bytes came from (``modbus-tcp://host:port/unit``)
    so that admission can check a bound source against where the installer
    registered it; ``raw`` is undecoded, because decoding belongs to the
    source's data-source type, not to the transport.
    """

    source: str
    raw: bytes
    time: datetime
    origin: str


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the layer above refused a reading (admission), as plain strings a status shows.

    ``field`` names the field at fault and ``value`` is a short rendering of
    what it held; both are absent when the refusal concerns the reading as a
    whole, and ``value`` is absent whenever it could carry a credential.
    """

    reason: str
    detail: str
    field: str | None = None
    value: str | None = None

    def summary(self) -> str:
        """``undecodable: field temperature = 'warm'``; the message where no value is shown."""
        if self.field is None:
            return f"{self.reason}: {self.detail}"
        if self.value is None:
            return f"{self.reason}: field {self.field} ({self.detail})"
        return f"{self.reason}: field {self.field} = {self.value}"


@dataclass(slots=True)
class DeviceHealth:
    """Availability of one device as its coordinator sees it.

    A device can answer every poll and still deliver nothing: when admission
    refuses its readings, ``refused`` counts them in a row (one admitted
    reading resets it) and ``last_refusal`` says why, so status can show the
    device as refused rather than up.
    """

    available: bool = False
    reads: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    last_error: str | None = None
    last_success: datetime | None = None
    # Frames the device sent that could not be used: counted, never fatal.
    malformed: int = 0
    # Readings refused in a row by admission, and the latest refusal (kept after recovery).
    refused: int = 0
    last_refusal: Refusal | None = None
    # Polled devices wait for their first poll; streaming ones for their first frame.
    polled: bool = False


Emit = Callable[[Reading], Awaitable[None]]


class PollingDriver(abc.ABC):
    """A transport whose devices answer when asked (Modbus, request/response serial).

    The gateway's coordinator decides when to poll; the driver only knows how.
    ``poll`` raises :class:`~edgeward.drivers.errors.DeviceUnavailable` or
    :class:`~edgeward.drivers.errors.DeviceProtocolError` and stays usable after
    either: the next ``poll`` reconnects if it must.
    """

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect; raise DeviceUnavailable if the transport can't be reached yet."""

    @abc.abstractmethod
    async def poll(self, source: str) -> Reading:
        """Read one device now and return its frame."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release the transport; safe to call twice."""

    @property
    @abc.abstractmethod
    def sources(self) -> tuple[str, ...]:
        """The data sources this driver reads."""


class StreamingDriver(abc.ABC):
    """A transport whose devices speak when they have something (MQTT, BLE
    notifications, streaming serial).

    ``run`` connects, hands every frame to ``emit`` and owns reconnection: after
    any disconnect it retries with backoff by itself, logging once when the
    link goes down and once when it is back. It returns only when cancelled.
    Garbage from a device is counted in that device's health, never raised.
    """

    @abc.abstractmethod
    async def run(self, emit: Emit) -> None:
        """Read forever; cancel the task to stop."""

    @abc.abstractmethod
    def health(self) -> Mapping[str, DeviceHealth]:
        """Availability per data source."""

    @property
    @abc.abstractmethod
    def sources(self) -> tuple[str, ...]:
        """The data sources this driver reads."""
