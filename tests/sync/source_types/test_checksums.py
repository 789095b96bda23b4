"""Frame checksums: each algorithm's catalogue check value, then every way a frame fails."""

from __future__ import annotations

import operator
import struct
import zlib
from functools import reduce

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgeward.sync.errors import SpecError
from edgeward.sync.reports import ReportRejected
from edgeward.sync.source_types.checksums import (
    ALGORITHMS,
    FrameChecksum,
    check_checksum,
    compute,
    width,
)
from edgeward.sync.source_types.spec import Checksum, ChecksumAlgorithm
from tests.sync.source_types.telegrams import DSMR_V5

CHECK_INPUT = b"123456789"

# Check values of the CRC catalogue (reveng, "Catalogue of parametrised CRC algorithms"):
# the CRC of the ASCII digits 1 to 9. The 8-bit sums have no catalogue entry: their
# expected values are computed here from their definition.
CATALOGUE: dict[ChecksumAlgorithm, int] = {
    "xor8": reduce(operator.xor, CHECK_INPUT),
    "sum8": sum(CHECK_INPUT) % 256,
    "crc16-modbus": 0x4B37,
    "crc16-ccitt": 0x29B1,  # CRC-16/IBM-3740, alias CRC-16/CCITT-FALSE
    "crc16-kermit": 0x2189,
    "crc16-xmodem": 0x31C3,
    "crc16-arc": 0xBB3D,
    "crc32": 0xCBF43926,
}


@pytest.mark.parametrize("algorithm", sorted(CATALOGUE))
def test_each_algorithm_gives_its_catalogue_check_value(algorithm: ChecksumAlgorithm) -> None:
    assert compute(algorithm, CHECK_INPUT) == CATALOGUE[algorithm]


def test_the_table_names_every_algorithm_of_the_spec_with_its_width() -> None:
    assert set(ALGORITHMS) == set(CATALOGUE)
    assert CATALOGUE["xor8"] == 0x31 and CATALOGUE["sum8"] == 0xDD
    widths = {name: width(name) for name in CATALOGUE}
    assert widths == {
        "xor8": 1,
        "sum8": 1,
        "crc16-modbus": 2,
        "crc16-ccitt": 2,
        "crc16-kermit": 2,
        "crc16-xmodem": 2,
        "crc16-arc": 2,
        "crc32": 4,
    }


@given(st.binary(max_size=64))
def test_crc32_is_zlibs_and_unsigned(data: bytes) -> None:
    assert compute("crc32", data) == zlib.crc32(data) & 0xFFFFFFFF


NMEA = FrameChecksum(Checksum(algorithm="xor8", marker="*", skip=1))
GGA = b"$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47"


def test_nmea_marker_checksum_leaves_out_the_dollar_and_returns_the_body() -> None:
    assert NMEA.verify(GGA) == b"GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"
    assert NMEA.verify(GGA.replace(b"*47", b"*47\r")) == GGA[1:-3]  # a line end left on
    assert NMEA.verify(b"$GPGSA,A,3,04,05,,09,12,,,24,,,,,2.5,1.3,2.1*39")[:5] == b"GPGSA"


def test_lowercase_hex_is_read_too() -> None:
    frame = b"$GPVTG,054.7,T,034.4,M,005.5,N,010.2,K*48"
    assert NMEA.verify(frame.replace(b"*48", b"*48".lower())) == frame[1:-3]
    rmc = b"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6a"
    assert NMEA.verify(rmc).startswith(b"GPRMC")


def refusal(checksum: FrameChecksum, frame: bytes) -> ReportRejected:
    with pytest.raises(ReportRejected) as caught:
        checksum.verify(frame)
    assert caught.value.reason == "checksum"
    return caught.value


def test_a_changed_byte_is_refused_with_what_the_frame_said() -> None:
    error = refusal(NMEA, GGA.replace(b"4807.038", b"4807.039"))
    assert error.value == "'47'"
    assert error.detail == "xor8 is 46, the frame says 47"
    assert error.field is None


@pytest.mark.parametrize(
    ("frame", "said"),
    [
        (GGA[:-3], None),  # no marker at all
        (GGA[:-2], "''"),  # a marker and nothing after it
        (GGA[:-1], "'4'"),  # one digit
        (GGA[:-2] + b"4G", "'4G'"),  # not hex
        (GGA + b"7", "'477'"),  # too many digits
        (GGA[:-2] + b"\xff\xfe", "'\\\\xff\\\\xfe'"),  # not even text
        (b"*47", None),  # the marker sits in the skipped bytes
    ],
)
def test_missing_or_unreadable_checksums_are_refused(frame: bytes, said: str | None) -> None:
    assert refusal(NMEA, frame).value == said


def test_the_last_marker_counts() -> None:
    # A "*" inside the body (some devices use it in text) does not cut the frame.
    checksum = FrameChecksum(Checksum(algorithm="xor8", marker="*"))
    body = b"A*B,C"
    frame = body + b"*" + f"{reduce(operator.xor, body):02X}".encode()
    assert checksum.verify(frame) == body


DSMR = FrameChecksum(Checksum(algorithm="crc16-arc", marker="!", covers_marker=True))


def test_a_dsmr_telegram_checks_with_the_marker_covered() -> None:
    body = DSMR.verify(DSMR_V5)
    assert body == DSMR_V5[: -len(b"!6EEE")]
    assert body.endswith(b"0-2:96.1.0()\r\n")
    assert DSMR.verify(DSMR_V5 + b"\r\n") == body


def test_a_dsmr_telegram_without_its_marker_covered_fails() -> None:
    uncovered = FrameChecksum(Checksum(algorithm="crc16-arc", marker="!"))
    assert refusal(uncovered, DSMR_V5).value == "'6EEE'"
    assert refusal(DSMR, DSMR_V5.replace(b"00.244*kW", b"00.245*kW")).value == "'6EEE'"
    assert refusal(DSMR, DSMR_V5[:-4] + b"6EE").value == "'6EE'"


@pytest.mark.parametrize(("encoding", "order"), [("big-endian", ">"), ("little-endian", "<")])
def test_binary_trailing_checksums_in_either_byte_order(encoding: str, order: str) -> None:
    spec = msgspec_checksum(algorithm="crc16-modbus", encoding=encoding, skip=1)
    body = b"\x01\x03\x02\x00\x2a"
    frame = b"\x7e" + body + struct.pack(f"{order}H", compute("crc16-modbus", body))
    assert FrameChecksum(spec).verify(frame) == body
    corrupted = frame[:-1] + bytes([frame[-1] ^ 1])
    assert refusal(FrameChecksum(spec), corrupted).value == corrupted[-2:].hex()


def msgspec_checksum(**keys: object) -> Checksum:
    """A Checksum as a type document gives it (msgspec checks each key's type)."""
    return msgspec.convert(keys, Checksum)


def test_crc32_trailing_and_a_frame_too_short_for_it() -> None:
    checksum = FrameChecksum(msgspec_checksum(algorithm="crc32", encoding="little-endian"))
    body = b"hello"
    assert checksum.verify(body + struct.pack("<I", zlib.crc32(body))) == body
    error = refusal(checksum, b"abc")
    assert error.value is None and "too short" in error.detail


@pytest.mark.parametrize(
    ("keys", "path", "words"),
    [
        ({"marker": "*", "field": "cs"}, "checksum.field", "not both"),
        ({"marker": "*", "encoding": "big-endian"}, "checksum.encoding", "hex text"),
        ({"field": "cs", "encoding": "little-endian"}, "checksum.encoding", "hex text"),
        ({}, "checksum.encoding", "binary"),  # hex, but no marker and no field
        ({"encoding": "big-endian", "covers_marker": True}, "checksum.covers_marker", "marker"),
    ],
)
def test_contradicting_checksum_keys_are_spec_errors(
    keys: dict[str, object], path: str, words: str
) -> None:
    spec = msgspec_checksum(algorithm="xor8", **keys)
    with pytest.raises(SpecError) as caught:
        check_checksum(spec, "checksum")
    assert caught.value.path == path and words in caught.value.message
    with pytest.raises(SpecError):
        FrameChecksum(spec)


SPECS: st.SearchStrategy[dict[str, object]] = st.builds(
    dict,
    algorithm=st.sampled_from(sorted(CATALOGUE)),
    marker=st.sampled_from(["*", "!", "#~"]),
    covers_marker=st.booleans(),
    skip=st.integers(0, 16),
) | st.builds(
    dict,
    algorithm=st.sampled_from(sorted(CATALOGUE)),
    encoding=st.sampled_from(["big-endian", "little-endian"]),
    skip=st.integers(0, 16),
)


@given(SPECS, st.binary(max_size=80))
def test_verify_on_any_bytes_raises_only_a_checksum_refusal(
    keys: dict[str, object], frame: bytes
) -> None:
    checksum = FrameChecksum(msgspec_checksum(**keys))
    try:
        body = checksum.verify(frame)
    except ReportRejected as error:
        assert error.reason == "checksum"
    else:
        assert body in frame
