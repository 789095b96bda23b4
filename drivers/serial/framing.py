"""Framers: cut the bytes a serial device sends into frames, resynchronising after garbage.

A serial line has no packets, only bytes; noise, a device restarting
mid-frame or a wrong baud rate all put garbage into it. Every framer here
keeps going after garbage: it drops what it can't use, counts it as
malformed, and finds the start of the next frame. Each framer also has an
``encode`` for the sending side (requests, and the simulator).

``feed(data)`` returns the complete frames and how many malformed pieces the
new bytes finished. Frames are payloads: delimiters, STX/ETX, checksums and
length prefixes are stripped (a block of lines keeps the delimiters inside it).
"""

from __future__ import annotations

import abc
import enum
import re

from edgeward.drivers.errors import DriverConfigError

STX = 0x02
ETX = 0x03
DEFAULT_MAX_LENGTH = 1024


class Framer(abc.ABC):
    def __init__(self, max_length: int = DEFAULT_MAX_LENGTH) -> None:
        if not 1 <= max_length <= 65535:
            raise DriverConfigError(f"max_length must be 1..65535, not {max_length}")
        self.max_length = max_length
        self._buffer = bytearray()

    @abc.abstractmethod
    def feed(self, data: bytes) -> tuple[list[bytes], int]:
        """Frames completed by ``data``, and the count of malformed pieces dropped."""

    @abc.abstractmethod
    def encode(self, payload: bytes) -> bytes:
        """The bytes that carry ``payload`` as one frame."""

    def reset(self, *, mid_stream: bool = False) -> None:
        """Forget a partial frame (the port was reopened).

        ``mid_stream``: the device may be halfway through a frame, so a framer
        without a start marker drops bytes up to the first frame boundary.
        """
        self._buffer.clear()


class LineFramer(Framer):
    """Frames end with ``delimiter``; with ``\\n`` a trailing ``\\r`` goes too.

    A line longer than ``max_length`` is malformed: it is dropped up to and
    including its delimiter, so its tail never passes for a frame.
    """

    def __init__(self, delimiter: bytes = b"\n", max_length: int = DEFAULT_MAX_LENGTH) -> None:
        super().__init__(max_length)
        if not delimiter:
            raise DriverConfigError("a line delimiter can't be empty")
        self.delimiter = delimiter
        self._discarding = False

    def feed(self, data: bytes) -> tuple[list[bytes], int]:
        self._buffer += data
        frames: list[bytes] = []
        malformed = 0
        while (end := self._buffer.find(self.delimiter)) >= 0:
            line = bytes(self._buffer[:end])
            del self._buffer[: end + len(self.delimiter)]
            if self._discarding:
                self._discarding = False
                continue
            if self.delimiter == b"\n" and line.endswith(b"\r"):
                line = line[:-1]
            if len(line) > self.max_length:
                malformed += 1
            elif line:
                frames.append(line)
        if len(self._buffer) > self.max_length + len(self.delimiter):
            if not self._discarding:
                malformed += 1
            self._discarding = True
            self._buffer.clear()
        return frames, malformed

    def encode(self, payload: bytes) -> bytes:
        return payload + self.delimiter

    def reset(self, *, mid_stream: bool = False) -> None:
        super().reset()
        # A port opened while the device talks starts inside a line: the bytes
        # up to the first delimiter are its tail, not a line. This costs one
        # whole line when the port happened to open between lines.
        self._discarding = mid_stream


class Checksum(enum.StrEnum):
    """The check byte after ETX, computed over every byte after STX up to and
    including ETX, as the block check character (BCC) of ISO 1745-style links."""

    XOR = "xor"
    SUM = "sum"
    NONE = "none"

    def compute(self, covered: bytes) -> bytes:
        if self is Checksum.NONE:
            return b""
        if self is Checksum.XOR:
            value = 0
            for byte in covered:
                value ^= byte
            return bytes([value])
        return bytes([sum(covered) & 0xFF])


class StxEtxFramer(Framer):
    """``STX payload ETX [check]``; bytes outside a frame are garbage."""

    def __init__(
        self, checksum: Checksum = Checksum.XOR, max_length: int = DEFAULT_MAX_LENGTH
    ) -> None:
        super().__init__(max_length)
        self.checksum = checksum
        self._check_size = len(checksum.compute(b""))

    def feed(self, data: bytes) -> tuple[list[bytes], int]:
        self._buffer += data
        frames: list[bytes] = []
        malformed = 0
        while self._buffer:
            start = self._buffer.find(STX)
            if start != 0:
                # Garbage before the next STX (or no STX at all): one malformed piece.
                malformed += 1
                del self._buffer[: start if start > 0 else len(self._buffer)]
                continue
            end = self._buffer.find(ETX, 1)
            restart = self._buffer.find(STX, 1, end if end > 0 else len(self._buffer))
            if restart > 0:
                # A new frame began before this one ended: the device restarted mid-frame.
                malformed += 1
                del self._buffer[:restart]
                continue
            if end < 0:
                if len(self._buffer) > self.max_length + 1:
                    malformed += 1
                    del self._buffer[:1]  # resync at the next STX
                    continue
                break
            if len(self._buffer) < end + 1 + self._check_size:
                break
            payload = bytes(self._buffer[1:end])
            check = bytes(self._buffer[end + 1 : end + 1 + self._check_size])
            del self._buffer[: end + 1 + self._check_size]
            if check != self.checksum.compute(payload + bytes([ETX])):
                malformed += 1
            else:
                frames.append(payload)
        return frames, malformed

    def encode(self, payload: bytes) -> bytes:
        if STX in payload or ETX in payload:
            raise DriverConfigError("an STX/ETX payload can't contain STX or ETX")
        covered = payload + bytes([ETX])
        return bytes([STX]) + covered + self.checksum.compute(covered)


class LengthPrefixedFramer(Framer):
    """A big-endian length of ``length_size`` bytes, then that many payload bytes.

    The format has no sync marker, so after a length that can't be right (0
    or beyond ``max_length``) the framer drops one byte and tries again.
    """

    def __init__(self, length_size: int = 1, max_length: int = 255) -> None:
        if length_size not in (1, 2):
            raise DriverConfigError(f"length_size must be 1 or 2, not {length_size}")
        super().__init__(min(max_length, 256**length_size - 1))
        self.length_size = length_size

    def feed(self, data: bytes) -> tuple[list[bytes], int]:
        self._buffer += data
        frames: list[bytes] = []
        malformed = 0
        while len(self._buffer) >= self.length_size:
            length = int.from_bytes(self._buffer[: self.length_size], "big")
            if not 1 <= length <= self.max_length:
                malformed += 1
                del self._buffer[:1]
                continue
            if len(self._buffer) < self.length_size + length:
                break
            frames.append(bytes(self._buffer[self.length_size : self.length_size + length]))
            del self._buffer[: self.length_size + length]
        return frames, malformed

    def encode(self, payload: bytes) -> bytes:
        if not 1 <= len(payload) <= self.max_length:
            raise DriverConfigError(f"payload of {len(payload)} bytes can't be framed")
        return len(payload).to_bytes(self.length_size, "big") + payload


class BlockFramer(Framer):
    """Several lines make one frame: from a line matching ``start`` (when given) up to and
    including a line matching ``end`` (a DSMR P1 telegram: ``/XXX5...`` to ``!CRC``).

    Patterns are regular expressions matched at a line's beginning (``re.match``),
    against the line decoded as UTF-8 (undecodable bytes replaced) and, with a
    ``\\n`` delimiter, without its trailing ``\\r``. A frame keeps its inner
    delimiters byte for byte, because a block checksum covers them; only the
    final delimiter (with ``\\n``, the ``\\r`` before it too) is stripped.

    Garbage, counted as malformed: each non-empty line before a start line; a
    block cut short by a new start line; a block (or a line) longer than
    ``max_length``, after which lines are dropped up to the next start line
    (without ``start``: through the next end line, the only boundary known).
    """

    def __init__(
        self,
        end: str,
        start: str | None = None,
        delimiter: bytes = b"\n",
        max_length: int = 4096,
    ) -> None:
        super().__init__(max_length)
        if not delimiter:
            raise DriverConfigError("a block's line delimiter can't be empty")
        self.delimiter = delimiter
        self._end = _pattern(end, "end")
        self._start = None if start is None else _pattern(start, "start")
        self._block = bytearray()
        self._in_block = False
        self._skipping = False  # dropping lines, uncounted, until a block can begin
        self._discarding = False  # dropping the rest of an overlong line

    def feed(self, data: bytes) -> tuple[list[bytes], int]:
        self._buffer += data
        frames: list[bytes] = []
        malformed = 0
        while (end := self._buffer.find(self.delimiter)) >= 0:
            raw = bytes(self._buffer[:end])
            del self._buffer[: end + len(self.delimiter)]
            if self._discarding:
                self._discarding = False
                continue
            frame, bad = self._line(raw)
            malformed += bad
            if frame is not None:
                frames.append(frame)
        if len(self._buffer) > self.max_length + len(self.delimiter):
            if not self._discarding:
                malformed += 1
                self._drop_block()
            self._discarding = True
            self._buffer.clear()
        return frames, malformed

    def _line(self, raw: bytes) -> tuple[bytes | None, int]:
        """The frame ``raw`` completes (if any) and the malformed pieces it made."""
        line = self._text(raw)
        starts = self._start is not None and self._start.match(line) is not None
        if self._skipping:
            if not starts:
                if self._start is None and self._end.match(line):
                    self._skipping = False  # the next line begins a block
                return None, 0
            self._skipping = False
        bad = 0
        if self._in_block and not starts:
            self._block += self.delimiter + raw
        elif self._in_block or starts or (self._start is None and line):
            bad = 1 if self._in_block else 0  # a new start cut the block short
            self._block[:] = raw
            self._in_block = True
        else:
            return None, 1 if line.strip() else 0  # before any start line
        ends = self._end.match(line) is not None
        size = len(self._block)
        if self.delimiter == b"\n" and self._block.endswith(b"\r"):
            size -= 1  # the last line's "\r" goes with its delimiter, not into the frame
        if size > self.max_length:
            self._drop_block()
            self._skipping = not ends  # an overlong block that ended here needs no resync
            return None, bad + 1
        if not ends:
            return None, bad
        frame = bytes(self._block)
        self._block.clear()
        self._in_block = False
        return self._text_end(frame), bad

    def _text(self, raw: bytes) -> str:
        return self._text_end(raw).decode("utf-8", "replace")

    def _text_end(self, raw: bytes) -> bytes:
        return raw[:-1] if self.delimiter == b"\n" and raw.endswith(b"\r") else raw

    def _drop_block(self) -> None:
        self._block.clear()
        self._in_block = False
        self._skipping = True

    def encode(self, payload: bytes) -> bytes:
        lines = payload.split(self.delimiter)
        if self._start is not None and self._start.match(self._text(lines[0])) is None:
            raise DriverConfigError("a block's first line must match its start pattern")
        if self._end.match(self._text(lines[-1])) is None:
            raise DriverConfigError("a block's last line must match its end pattern")
        return payload + self.delimiter

    def reset(self, *, mid_stream: bool = False) -> None:
        super().reset()
        self._block.clear()
        self._in_block = False
        # Opened mid-block: the cut line's tail, then the rest of the block, are no frame.
        self._discarding = mid_stream
        self._skipping = mid_stream


def _pattern(pattern: str, name: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except (re.error, OverflowError, RecursionError, ValueError) as exc:
        raise DriverConfigError(f"block {name} is not a regular expression: {exc}") from None
