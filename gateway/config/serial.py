"""The ``[[serial]]`` sections of gateway.toml: one port, one device, one data source.

Framing keys belong to their framing (``delimiter`` to ``line``, ``checksum``
to ``stx_etx``, ``length_size`` to ``length_prefixed``); a key given to the
wrong framing is an error rather than silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgeward.drivers.serial.framing import (
    Checksum,
    Framer,
    LengthPrefixedFramer,
    LineFramer,
    StxEtxFramer,
)
from edgeward.gateway.config.fields import parse_fields
from edgeward.gateway.config.modbus import BAUDRATES
from edgeward.gateway.config.section import Section
from edgeward.sync.frames import TextField

FRAMINGS = ("line", "stx_etx", "length_prefixed")
_FRAMING_KEYS = {"line": "delimiter", "stx_etx": "checksum", "length_prefixed": "length_size"}


@dataclass(frozen=True, slots=True)
class SerialConfig:
    port: str
    baudrate: int
    parity: str
    bytesize: int
    stopbits: int
    source: str
    framing: str
    delimiter: bytes
    checksum: Checksum
    length_size: int
    max_length: int
    request: bytes | None
    poll_interval: float
    timeout: float
    # Streaming only: no frame for this long marks the device unavailable.
    stale_after: float
    separator: str
    fields: tuple[TextField, ...]

    def framer(self) -> Framer:
        if self.framing == "line":
            return LineFramer(self.delimiter, self.max_length)
        if self.framing == "stx_etx":
            return StxEtxFramer(self.checksum, self.max_length)
        return LengthPrefixedFramer(self.length_size, self.max_length)


def parse_serial(port: Section) -> SerialConfig:
    port.allow(
        *("port", "baudrate", "parity", "bytesize", "stopbits", "source", "framing"),
        *("delimiter", "checksum", "length_size", "max_length", "request", "poll_interval"),
        *("timeout", "stale_after", "separator", "fields"),
    )
    framing = port.choice("framing", FRAMINGS, "line")
    for other, key in _FRAMING_KEYS.items():
        if other != framing and key in port.data:
            raise port.error(key, f"no {key} with framing {framing!r} (it is for {other!r})", key)
    baudrate = port.integer("baudrate", 1, 4_000_000, 9600)
    if baudrate not in BAUDRATES:
        raise port.error("baudrate", "one of " + ", ".join(map(str, BAUDRATES)), baudrate)
    request = port.optional_string("request")
    for key in ("poll_interval", "timeout"):
        if request is None and key in port.data:
            raise port.error(key, "a request to go with it (request/response mode)", key)
    if request is not None and "stale_after" in port.data:
        raise port.error(
            "stale_after", "no stale_after with a request (streaming only)", "a request"
        )
    delimiter = port.optional_string("delimiter") or "\n"
    return SerialConfig(
        port=port.string("port"),
        baudrate=baudrate,
        parity=port.choice("parity", ("N", "E", "O"), "N"),
        bytesize=port.integer("bytesize", 7, 8, 8),
        stopbits=port.integer("stopbits", 1, 2, 1),
        source=port.identifier("source"),
        framing=framing,
        delimiter=delimiter.encode(),
        checksum=Checksum(port.choice("checksum", tuple(Checksum), Checksum.XOR)),
        length_size=port.integer("length_size", 1, 2, 1),
        max_length=port.integer(
            "max_length", 1, 65535, 1024 if framing != "length_prefixed" else 255
        ),
        request=request.encode() if request is not None else None,
        poll_interval=port.number("poll_interval", 0.01, 86_400, 1.0),
        timeout=port.number("timeout", 0.01, 60, 1.0),
        stale_after=port.number("stale_after", 0.1, 86_400, 30.0),
        separator=port.optional_string("separator") or ",",
        fields=parse_fields(port, json_paths=False),
    )
