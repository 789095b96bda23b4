"""Framers: every frame out whole, every kind of garbage dropped, counted, and survived."""

from __future__ import annotations

import pytest

from edgeward.drivers.errors import DriverConfigError
from edgeward.drivers.serial.framing import (
    ETX,
    STX,
    Checksum,
    LengthPrefixedFramer,
    LineFramer,
    StxEtxFramer,
)


def feed_bytewise(
    framer: LineFramer | StxEtxFramer | LengthPrefixedFramer, data: bytes
) -> tuple[list[bytes], int]:
    frames: list[bytes] = []
    malformed = 0
    for byte in data:
        got, bad = framer.feed(bytes([byte]))
        frames += got
        malformed += bad
    return frames, malformed


def test_lines_split_on_delimiter_across_chunks_and_drop_cr() -> None:
    framer = LineFramer()
    assert framer.feed(b"a,1\r\nb,") == ([b"a,1"], 0)
    assert framer.feed(b"2\n\n") == ([b"b,2"], 0)  # an empty line is no frame, and no error
    assert feed_bytewise(LineFramer(b";"), b"x;y;") == ([b"x", b"y"], 0)


def test_overlong_line_is_malformed_and_its_tail_never_becomes_a_frame() -> None:
    framer = LineFramer(max_length=8)
    assert framer.feed(b"0123456789ABCDEF") == ([], 1)
    assert framer.feed(b"GHIJ\nok\n") == ([b"ok"], 0)
    assert framer.feed(b"123456789\n") == ([], 1)  # complete but too long


@pytest.mark.parametrize("checksum", list(Checksum))
def test_stx_etx_round_trip_bytewise(checksum: Checksum) -> None:
    framer = StxEtxFramer(checksum)
    data = framer.encode(b"21.5,40") + framer.encode(b"x")
    assert feed_bytewise(StxEtxFramer(checksum), data) == ([b"21.5,40", b"x"], 0)


def test_stx_etx_bad_checksum_and_garbage_are_counted_then_the_next_frame_is_found() -> None:
    framer = StxEtxFramer(Checksum.XOR)
    good = framer.encode(b"ok")
    corrupted = bytearray(framer.encode(b"no"))
    corrupted[-1] ^= 0xFF
    frames, malformed = framer.feed(b"noise" + bytes(corrupted) + good)
    assert (frames, malformed) == ([b"ok"], 2)
    # A frame cut short by a new STX: the cut one is malformed, the new one arrives.
    assert framer.feed(bytes([STX]) + b"half" + good) == ([b"ok"], 1)


def test_stx_without_etx_is_dropped_after_max_length() -> None:
    framer = StxEtxFramer(Checksum.SUM, max_length=4)
    assert framer.feed(bytes([STX]) + b"0123456789") == ([], 2)
    assert framer.feed(framer.encode(b"ok")) == ([b"ok"], 0)


def test_xor_checksum_covers_payload_and_etx() -> None:
    assert Checksum.XOR.compute(b"AB" + bytes([ETX])) == bytes([0x41 ^ 0x42 ^ ETX])
    assert Checksum.SUM.compute(b"\xff\x02") == b"\x01"


def test_length_prefixed_frames_and_resync_after_impossible_length() -> None:
    framer = LengthPrefixedFramer(2, max_length=10)
    data = b"\x00\x00" + framer.encode(b"abc") + b"\xff\xff" + framer.encode(b"de")
    frames, malformed = feed_bytewise(LengthPrefixedFramer(2, max_length=10), data)
    assert frames == [b"abc", b"de"]
    assert malformed >= 2


def test_framer_misuse_is_a_config_error() -> None:
    with pytest.raises(DriverConfigError):
        LineFramer(b"")
    with pytest.raises(DriverConfigError):
        LengthPrefixedFramer(3)
    with pytest.raises(DriverConfigError):
        StxEtxFramer().encode(bytes([ETX]))
    with pytest.raises(DriverConfigError):
        LengthPrefixedFramer(1).encode(b"x" * 256)


def test_line_framer_reset_mid_stream_drops_the_tail_of_the_cut_line() -> None:
    framer = LineFramer()
    framer.reset(mid_stream=True)
    assert framer.feed(b"5,21.50,45.0\n16,21.60,46.0\n") == ([b"16,21.60,46.0"], 0)
    framer.reset()
    assert framer.feed(b"whole\n") == ([b"whole"], 0)
