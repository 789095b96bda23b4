"""The ``[[serial]]`` sections of gateway.toml: one port, one device, one data source.

A section binds a source to a port and its character format and says how
often to ask (a device whose type sends a request each poll) or how long a
silence means it is gone (a device that talks by itself). How frames are
cut, checked and decoded is the source's data-source type.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgeward.gateway.config.modbus import BAUDRATES
from edgeward.gateway.config.section import Section

# Keys of earlier versions, now in the data-source type (framing, request, decoder).
MOVED_TO_TYPE = (
    "framing",
    "delimiter",
    "checksum",
    "length_size",
    "max_length",
    "request",
    "separator",
    "fields",
)


@dataclass(frozen=True, slots=True)
class SerialConfig:
    port: str
    baudrate: int
    parity: str
    bytesize: int
    stopbits: int
    source: str
    # Types with a request: how often it is sent, and how long an answer may take.
    poll_interval: float
    timeout: float
    # Types without one: no frame for this long marks the device unavailable.
    stale_after: float


def parse_serial(port: Section) -> SerialConfig:
    port.refuse_moved(*MOVED_TO_TYPE)
    port.allow(
        *("port", "baudrate", "parity", "bytesize", "stopbits", "source"),
        *("poll_interval", "timeout", "stale_after"),
    )
    baudrate = port.integer("baudrate", 1, 4_000_000, 9600)
    if baudrate not in BAUDRATES:
        raise port.error("baudrate", "one of " + ", ".join(map(str, BAUDRATES)), baudrate)
    return SerialConfig(
        port=port.string("port"),
        baudrate=baudrate,
        parity=port.choice("parity", ("N", "E", "O"), "N"),
        bytesize=port.integer("bytesize", 7, 8, 8),
        stopbits=port.integer("stopbits", 1, 2, 1),
        source=port.identifier("source"),
        poll_interval=port.number("poll_interval", 0.01, 86_400, 1.0),
        timeout=port.number("timeout", 0.01, 60, 1.0),
        stale_after=port.number("stale_after", 0.1, 86_400, 30.0),
    )
