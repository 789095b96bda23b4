"""The frame checksums a data-source type may name, and the check of a frame by one.

Every algorithm comes from a library, never a hand-written copy: the 8-bit
checksums and the CRC-16 variants from crccheck, CRC-32 from zlib. The names
are the CRC catalogue's (Greg Cook's "Catalogue of parametrised CRC
algorithms", reveng); each one's check value (its CRC of ``b"123456789"``)
is verified in the tests:

- ``xor8``: XOR of every byte (NMEA 0183), 1 byte, check 0x31;
- ``sum8``: the bytes' sum modulo 256, 1 byte, check 0xDD;
- ``crc16-modbus``: CRC-16/MODBUS, check 0x4B37;
- ``crc16-ccitt``: CRC-16/IBM-3740, known as CCITT-FALSE (init 0xFFFF), check 0x29B1;
- ``crc16-kermit``: CRC-16/KERMIT, check 0x2189;
- ``crc16-xmodem``: CRC-16/XMODEM, check 0x31C3;
- ``crc16-arc``: CRC-16/ARC (DSMR P1 telegrams), check 0xBB3D;
- ``crc32``: CRC-32 (ISO-HDLC, zlib's), 4 bytes, check 0xCBF43926.

:class:`FrameChecksum` checks a frame by a type's
:class:`~edgeward.sync.source_types.spec.Checksum` and hands back the body
to parse. A checksum in a delimited ``field`` is checked by
:mod:`edgeward.sync.source_types.text`, where field positions are known,
through :meth:`FrameChecksum.check_hex`.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

from crccheck.checksum import Checksum8, ChecksumXor8
from crccheck.crc import Crc16Arc, Crc16CcittFalse, Crc16Kermit, Crc16Modbus, Crc16Xmodem

from edgeward.sync.errors import SpecError
from edgeward.sync.reports import ReportRejected
from edgeward.sync.source_types.spec import Checksum, ChecksumAlgorithm

__all__ = ["ALGORITHMS", "FrameChecksum", "check_checksum", "compute", "width"]


def _crc32(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


# name -> (function of the covered bytes, width in bytes)
ALGORITHMS: dict[str, tuple[Callable[[bytes], int], int]] = {
    "xor8": (ChecksumXor8.calc, 1),
    "sum8": (Checksum8.calc, 1),
    "crc16-modbus": (Crc16Modbus.calc, 2),
    "crc16-ccitt": (Crc16CcittFalse.calc, 2),
    "crc16-kermit": (Crc16Kermit.calc, 2),
    "crc16-xmodem": (Crc16Xmodem.calc, 2),
    "crc16-arc": (Crc16Arc.calc, 2),
    "crc32": (_crc32, 4),
}

_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
# Line ends a framer may leave after a marker's hex digits (a block's "!1E1D\r").
_TRAILING_SPACE = b" \t\r\n"


def compute(algorithm: ChecksumAlgorithm, data: bytes) -> int:
    """``algorithm``'s checksum of ``data``, as an unsigned integer."""
    return ALGORITHMS[algorithm][0](data)


def width(algorithm: ChecksumAlgorithm) -> int:
    """The checksum's size in bytes (twice that in hex digits)."""
    return ALGORITHMS[algorithm][1]


def check_checksum(spec: Checksum, path: str) -> None:
    """Refuse a checksum whose keys contradict each other; ``path`` names the checksum.

    The rules that need the decoder (a ``field`` that exists, only in
    delimited frames) are :func:`edgeward.sync.source_types.text.check_text`'s.
    """
    if spec.marker is not None and spec.field is not None:
        raise SpecError(f"{path}.field", "a checksum sits after a marker or in a field, not both")
    hex_text = spec.marker is not None or spec.field is not None
    if hex_text and spec.encoding != "hex":
        raise SpecError(
            f"{path}.encoding",
            f"a checksum after a marker or in a field is hex text, not {spec.encoding}",
        )
    if not hex_text and spec.encoding == "hex":
        raise SpecError(
            f"{path}.encoding",
            "a checksum in the frame's last bytes is binary: big-endian or little-endian "
            "(hex text needs a marker or a field)",
        )
    if spec.covers_marker and spec.marker is None:
        raise SpecError(f"{path}.covers_marker", "covers_marker needs a marker")


class FrameChecksum:
    """Checks frames by one :class:`Checksum` spec; :meth:`verify` returns the body to parse.

    - ``marker``: hex text after the frame's LAST marker (NMEA's
      ``$GPGGA,...*47`` with ``skip=1``: the ``$`` is not covered; a DSMR
      P1 telegram's ``!1E1D`` with ``covers_marker``). The text after the
      marker must be exactly the algorithm's width in hex digits (either
      case), trailing line-end whitespace aside.
    - neither marker nor field: the frame's last bytes, big- or little-endian.
    - ``field``: the body is the frame after ``skip``; the text decoder finds
      the field and calls :meth:`check_hex`.

    The body has the skipped bytes, the marker and the checksum removed.
    """

    def __init__(self, spec: Checksum) -> None:
        check_checksum(spec, "checksum")
        self.spec = spec
        self._function, self._width = ALGORITHMS[spec.algorithm]
        self._marker = spec.marker.encode() if spec.marker is not None else None
        self._skip = spec.skip

    def verify(self, frame: bytes) -> bytes:
        """The body of ``frame`` once its checksum holds; ReportRejected("checksum") if not."""
        if self.spec.field is not None:
            return frame[self._skip :]
        if self._marker is None:
            return self._verify_trailing(frame)
        at = frame.rfind(self._marker)
        if at < self._skip:
            raise ReportRejected("checksum", f"no {self.spec.marker!r} checksum marker")
        stated = frame[at + len(self._marker) :].rstrip(_TRAILING_SPACE)
        end = at + len(self._marker) if self.spec.covers_marker else at
        self.check_hex(frame[self._skip : end], stated)
        return frame[self._skip : at]

    def check_hex(self, covered: bytes, stated: bytes, field: str | None = None) -> None:
        """Compare the checksum of ``covered`` with hex text ``stated`` (from a marker or field)."""
        if len(stated) != 2 * self._width or not _HEX_DIGITS.issuperset(stated):
            raise ReportRejected(
                "checksum",
                f"the checksum is not {2 * self._width} hex digits",
                field=field,
                value=stated.decode("ascii", "backslashreplace"),
            )
        self._compare(covered, int(stated, 16), stated.decode("ascii"), field)

    def _verify_trailing(self, frame: bytes) -> bytes:
        if len(frame) < self._skip + self._width:
            raise ReportRejected(
                "checksum", f"the frame is too short for a {self._width}-byte checksum"
            )
        stated = frame[-self._width :]
        body = frame[self._skip : -self._width]
        big = self.spec.encoding == "big-endian"
        self._compare(body, int.from_bytes(stated, "big" if big else "little"), stated, None)
        return body

    def _compare(self, covered: bytes, stated: int, shown: object, field: str | None) -> None:
        computed = self._function(covered)
        if computed != stated:
            raise ReportRejected(
                "checksum",
                f"{self.spec.algorithm} is {computed:0{2 * self._width}X}, the frame says "
                f"{stated:0{2 * self._width}X}",
                field=field,
                value=shown,
            )
