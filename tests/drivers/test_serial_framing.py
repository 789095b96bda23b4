"""Framers: every frame out whole, every kind of garbage dropped, counted, and survived."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgeward.drivers.errors import DriverConfigError
from edgeward.drivers.serial.framing import (
    ETX,
    STX,
    BlockFramer,
    Checksum,
    LengthPrefixedFramer,
    LineFramer,
    StxEtxFramer,
)


def feed_bytewise(
    framer: LineFramer | StxEtxFramer | LengthPrefixedFramer | BlockFramer, data: bytes
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


# A DSMR P1 telegram's shape: a header line, an empty line, data lines, "!" and the CRC,
# every line ending CR LF (DSMR 5.0.2 P1 companion standard, section 6.2).
TELEGRAM = b"/ISk5\\2MT382-1000\r\n\r\n1-0:1.8.1(000004.426*kWh)\r\n1-0:1.7.0(00.244*kW)\r\n!6EEE"


def dsmr() -> BlockFramer:
    return BlockFramer(end="!", start="/")


def test_a_block_keeps_its_inner_delimiters_and_loses_the_last() -> None:
    framer = dsmr()
    assert framer.feed(TELEGRAM + b"\r\n") == ([TELEGRAM], 0)
    assert feed_bytewise(dsmr(), (TELEGRAM + b"\r\n") * 2) == ([TELEGRAM, TELEGRAM], 0)
    assert dsmr().encode(TELEGRAM) == TELEGRAM + b"\n"
    assert dsmr().feed(dsmr().encode(TELEGRAM)) == ([TELEGRAM], 0)


def test_lines_before_a_start_line_are_malformed_one_each_empty_ones_are_not() -> None:
    framer = dsmr()
    assert framer.feed(b"noise\r\n\r\n67EE\r\n" + TELEGRAM + b"\r\n") == ([TELEGRAM], 2)


def test_a_block_cut_short_by_a_new_start_is_malformed_and_the_new_one_arrives() -> None:
    framer = dsmr()
    cut = TELEGRAM[:40]
    assert framer.feed(cut + b"\r\n" + TELEGRAM + b"\r\n") == ([TELEGRAM], 1)


def test_without_start_a_block_begins_at_any_line_and_ends_at_end() -> None:
    framer = BlockFramer(end=r"END\b", delimiter=b";")
    assert framer.feed(b"a=1;b=2;END;;c=3;END x;") == ([b"a=1;b=2;END", b"c=3;END x"], 0)
    assert framer.feed(b"d=4;ENDED;END;") == ([b"d=4;ENDED;END"], 0)  # ENDED is no end


def test_a_start_line_that_also_ends_is_a_block_of_one_line() -> None:
    framer = BlockFramer(end=r".*;$", start="#", delimiter=b"\n")
    assert framer.feed(b"#one;\n#two\nmore;\n") == ([b"#one;", b"#two\nmore;"], 0)


def test_an_overlong_block_is_malformed_once_then_the_next_start_is_found() -> None:
    framer = BlockFramer(end="!", start="/", max_length=len(TELEGRAM))
    long_block = TELEGRAM.replace(b"\r\n!", b"\r\n1-0:2.7.0(00.000*kW)\r\n!")
    data = long_block + b"\r\nafter\r\n" + TELEGRAM + b"\r\n"
    # "after" is garbage before a start line, but the overlong block already counted
    # the run up to the next start: lines are dropped quietly until then.
    assert framer.feed(data) == ([TELEGRAM], 1)


def test_an_overlong_block_without_start_resyncs_after_the_next_end() -> None:
    framer = BlockFramer(end="END", delimiter=b";", max_length=8)
    assert framer.feed(b"0123;4567;89;END;ok;END;") == ([b"ok;END"], 1)
    # an overlong block whose own end line overflowed needs no resync
    assert framer.feed(b"0123;4567;END;ok;END;") == ([b"ok;END"], 1)


def test_an_endless_line_is_malformed_once_and_its_tail_never_begins_a_block() -> None:
    framer = BlockFramer(end="!", start="/", max_length=16)
    assert framer.feed(b"/" + b"x" * 40) == ([], 1)
    assert framer.feed(b"x" * 40) == ([], 0)
    assert framer.feed(b"/tail\n!\n/a\n!1\n") == ([b"/a\n!1"], 0)


def test_block_reset_mid_stream_drops_the_cut_block_quietly() -> None:
    framer = dsmr()
    framer.reset(mid_stream=True)
    tail = TELEGRAM[20:]
    assert framer.feed(tail + b"\r\n" + TELEGRAM + b"\r\n") == ([TELEGRAM], 0)
    framer = BlockFramer(end="END", delimiter=b";")
    framer.reset(mid_stream=True)
    assert framer.feed(b"=1;b=2;END;c=3;END;") == ([b"c=3;END"], 0)
    framer.reset()
    assert framer.feed(b"d;END;") == ([b"d;END"], 0)


def test_block_framer_misuse_is_a_config_error() -> None:
    with pytest.raises(DriverConfigError):
        BlockFramer(end="(")
    with pytest.raises(DriverConfigError):
        BlockFramer(end="!", start="[")
    with pytest.raises(DriverConfigError):
        BlockFramer(end="!", delimiter=b"")
    with pytest.raises(DriverConfigError):
        dsmr().encode(b"no start\r\n!0000")
    with pytest.raises(DriverConfigError):
        dsmr().encode(b"/start\r\nno end")


@given(
    st.lists(st.sampled_from([b"/h", b"x", b"", b"!1", b"/h2", b"\xff", b"y" * 30]), max_size=30)
)
def test_blocks_from_any_lines_start_and_end_where_they_should(lines: list[bytes]) -> None:
    framer = BlockFramer(end="!", start="/", max_length=64)
    frames, malformed = framer.feed(b"".join(line + b"\r\n" for line in lines))
    assert malformed >= 0
    for frame in frames:
        assert frame.startswith(b"/h") and frame.split(b"\r\n")[-1] == b"!1"
        assert len(frame) <= 64
