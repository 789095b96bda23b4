"""Text decoders beside the bare primitives they rest on, measured in one run.

- the NMEA 0183 type's decoder (:data:`edgeward.sync.source_types.nmea.NMEA_0183`:
  checksum, record by tag, every field by its type, degrees-minutes) on GGA
  and RMC lines, beside a bare ``re.match`` of the sentence tag and a
  ``split`` of the same lines (what a hand-written parser can't do less than);
- the checksum stage (:class:`~edgeward.sync.source_types.checksums.FrameChecksum`:
  find the marker, read the hex, compare) beside the crccheck or zlib call
  alone on the bytes it covers: XOR-8 on NMEA lines, CRC-16/ARC on a DSMR P1
  telegram, CRC-32 on a binary frame;
- a regex-format decoder (named groups, fields by type) beside a bare
  ``re.match`` of the same pattern.

Rounds alternate between a decoder and its primitive so load arriving or
leaving falls on both; the ratio is what to read, not the absolute rate.

Run: ``make bench`` or ``.venv/bin/python bench/text_decoders.py``.
"""

from __future__ import annotations

import argparse
import re
import statistics
import struct
import time
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
from crccheck.checksum import ChecksumXor8
from crccheck.crc import Crc16Arc

from edgeward.sync.source_types import parse_type_spec
from edgeward.sync.source_types.checksums import FrameChecksum
from edgeward.sync.source_types.nmea import NMEA_0183
from edgeward.sync.source_types.spec import Checksum, SerialType, TextDecoder
from edgeward.sync.source_types.text import TextFrameDecoder

NMEA_LINES = [
    b"$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47",
    b"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A",
    b"$GNGGA,001043.00,4404.14036,N,12118.85961,W,1,12,0.98,1113.0,M,-21.3,M,,*47",
    b"$GNRMC,001031.00,A,4404.13993,N,12118.86023,W,0.146,,100117,,,A*7B",
]
TAG = re.compile(rb"\$([A-Z]{2})(GGA|RMC),")

# A DSMR P1 telegram's shape (its CRC computed here: the tests check it on a real one).
TELEGRAM_BODY = b"".join(
    [
        b"/ISk5\\2MT382-1000\r\n\r\n1-3:0.2.8(50)\r\n0-0:1.0.0(170102192002W)\r\n",
        b"".join(b"1-0:%d.8.%d(000004.426*kWh)\r\n" % (a, b) for a in (1, 2) for b in (1, 2)),
        b"0-0:96.14.0(0002)\r\n1-0:1.7.0(00.244*kW)\r\n1-0:2.7.0(00.000*kW)\r\n" * 8,
        b"!",
    ]
)
TELEGRAM = TELEGRAM_BODY + b"%04X" % Crc16Arc.calc(TELEGRAM_BODY)
BINARY_BODY = bytes(range(64))
BINARY_FRAME = BINARY_BODY + struct.pack("<I", zlib.crc32(BINARY_BODY))

REGEX = r"T=(?P<temperature>-?[0-9.]+);H=(?P<humidity>[0-9.]+);S=(?P<state>on|off);N=(?P<n>\d+)"
REGEX_LINES = [f"T={t}.5;H=4{t};S={'on' if t % 2 else 'off'};N={t}".encode() for t in range(10)]


def nmea_decoder() -> TextFrameDecoder:
    spec = parse_type_spec(NMEA_0183)
    assert isinstance(spec, SerialType)
    return TextFrameDecoder(spec.decoder)


def regex_decoder() -> TextFrameDecoder:
    fields: list[dict[str, Any]] = [
        {"name": "temperature"},
        {"name": "humidity"},
        {"name": "state", "type": "boolean"},
        {"name": "n", "type": "integer"},
    ]
    spec = msgspec.convert({"format": "regex", "pattern": REGEX, "fields": fields}, TextDecoder)
    return TextFrameDecoder(spec)


def bare_nmea(line: bytes) -> object:
    match = TAG.match(line)
    if match is None:
        raise SystemExit("the bare NMEA loop failed on its own input")
    return line[1 : line.rfind(b"*")].split(b",")


Pair = tuple[str, Sequence[bytes], Callable[[bytes], object], Callable[[bytes], object], int]


def checksum_pairs() -> list[Pair]:
    """(name, frames, the checksum stage, the bare library call on the covered bytes, and
    a divisor of the frame count: a telegram is a hundred times an NMEA line's bytes)."""
    nmea = FrameChecksum(Checksum(algorithm="xor8", marker="*", skip=1))
    dsmr = FrameChecksum(Checksum(algorithm="crc16-arc", marker="!", covers_marker=True))
    crc32 = FrameChecksum(Checksum(algorithm="crc32", encoding="little-endian"))
    bodies = {line: line[1 : line.rfind(b"*")] for line in NMEA_LINES}
    return [
        ("XOR-8, NMEA", NMEA_LINES, nmea.verify, lambda line: ChecksumXor8.calc(bodies[line]), 1),
        ("CRC-16/ARC, DSMR", [TELEGRAM], dsmr.verify, lambda _: Crc16Arc.calc(TELEGRAM_BODY), 50),
        ("CRC-32, binary", [BINARY_FRAME], crc32.verify, lambda _: zlib.crc32(BINARY_BODY), 1),
    ]


def rate(work: Callable[[bytes], object], frames: Sequence[bytes], count: int) -> float:
    batch = [frames[index % len(frames)] for index in range(count)]
    started = time.perf_counter()
    for frame in batch:
        work(frame)
    return count / (time.perf_counter() - started)


def measure(
    ours: Callable[[bytes], object],
    bare: Callable[[bytes], object],
    frames: Sequence[bytes],
    count: int,
    rounds: int,
) -> tuple[float, float]:
    """(median rate of ours, median bare rate) in frames/s over alternating rounds."""
    mine, primitive = [], []
    for _ in range(rounds):
        mine.append(rate(ours, frames, count))
        primitive.append(rate(bare, frames, count))
    return statistics.median(mine), statistics.median(primitive)


def report(name: str, rates: tuple[float, float], primitive: str) -> None:
    ours, bare = rates
    print(
        f"{name:>18}: ours {ours:>10,.0f}/s; bare {primitive} {bare:>10,.0f}/s; "
        f"ours runs at {ours / bare:.2f}x the bare primitive's rate"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20000, help="frames per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    count, rounds = args.frames, args.rounds
    print(f"text decoders, {count} frames x {rounds} rounds (medians)")
    nmea = nmea_decoder()
    if any(not nmea.decode(line) for line in NMEA_LINES):
        raise SystemExit("the NMEA decoder refused its own lines")
    report(
        "NMEA GGA/RMC", measure(nmea.decode, bare_nmea, NMEA_LINES, count, rounds), "match+split"
    )
    for name, frames, stage, call, divisor in checksum_pairs():
        rates = measure(stage, call, frames, max(1, count // divisor), rounds)
        report(name, rates, "library call")
    pattern = re.compile(REGEX)
    regex = regex_decoder()
    report(
        "regex decoder",
        measure(
            regex.decode, lambda line: pattern.match(line.decode()), REGEX_LINES, count, rounds
        ),
        "re.match",
    )


if __name__ == "__main__":
    main()
