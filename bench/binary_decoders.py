"""Binary decoders of data-source types, beside a bare ``struct.unpack_from`` of the same bytes.

- a Modbus register map of 10 fields (float32 and uint32, ABCD):
  :class:`edgeward.sync.source_types.modbus.RegisterPlan` ``.decode`` (length
  check, one precompiled Struct, the values dict, finiteness of the floats)
  against one precompiled ``Struct.unpack_from`` of the frame;
- a Temperature Measurement value (0x2A1C: flags, a FLOAT, a time stamp and
  a temperature type present by flags) and a Temperature value (0x2A6E:
  sint16, 0.01 °C) through
  :class:`edgeward.sync.source_types.binary.LayoutDecoder` with the
  standard layouts, against ``Struct.unpack_from`` of the same fields.

Rounds alternate between decoder and bare unpack so load arriving or
leaving falls on both; the ratio is what to read, not the absolute rate.

Run: ``make bench`` or ``.venv/bin/python bench/binary_decoders.py``.
"""

from __future__ import annotations

import argparse
import statistics
import struct
import time
from collections.abc import Callable

from edgeward.sync.source_types.binary import LayoutDecoder
from edgeward.sync.source_types.gatt import standard_characteristic
from edgeward.sync.source_types.modbus import RegisterPlan
from edgeward.sync.source_types.spec import ModbusDecoder, Register

MAP_FORMAT = ">" + "fI" * 5
MAP_VALUES = [230.5, 12345, 49.875, 7, 0.25, 99, 1.5, 4000000000, -3.75, 1]
# flags 0x06 (°C, time stamp, type), 36.4 as a FLOAT, 2024-12-05 10:30:59, type 2 (body).
TEMPERATURE_MEASUREMENT = bytes.fromhex("06" + "6c0100ff" + "e8070c050a1e3b" + "02")
TEMPERATURE = bytes.fromhex("2e09")  # 23.50 °C


def register_plan() -> tuple[Callable[[], object], Callable[[], object]]:
    registers = [
        Register(name=f"field{i}", address=2 * i, type="float32" if i % 2 == 0 else "uint32")
        for i in range(10)
    ]
    plan = RegisterPlan(ModbusDecoder(registers=registers))
    frame = struct.pack(MAP_FORMAT, *MAP_VALUES)
    expected = dict(zip((r.name for r in registers), MAP_VALUES, strict=True))
    if plan.decode(frame) != expected:
        raise SystemExit(f"the register plan misread its frame: {plan.decode(frame)}")
    bare = struct.Struct(MAP_FORMAT)
    return (lambda: plan.decode(frame)), (lambda: bare.unpack_from(frame))


def layout(uuid: str, frame: bytes, fmt: str) -> tuple[Callable[[], object], Callable[[], object]]:
    characteristic = standard_characteristic(uuid)
    if characteristic is None:
        raise SystemExit(f"no standard layout for {uuid}")
    decoder = LayoutDecoder(characteristic.layout)
    if not decoder.decode(frame):
        raise SystemExit(f"the layout of {uuid} read nothing from its frame")
    bare = struct.Struct(fmt)
    return (lambda: decoder.decode(frame)), (lambda: bare.unpack_from(frame))


def rate(work: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``work``, run in batches for about ``seconds``."""
    calls, batch = 0, 1000
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for _ in range(batch):
            work()
        calls += batch
        now = time.perf_counter()
        if now >= deadline:
            return calls / (now - started)


def measure(
    pair: tuple[Callable[[], object], Callable[[], object]], seconds: float, rounds: int
) -> tuple[float, float]:
    """(median decoder rate, median bare rate) over alternating rounds."""
    decoder, bare = pair
    decoded, unpacked = [], []
    for _ in range(rounds):
        decoded.append(rate(decoder, seconds))
        unpacked.append(rate(bare, seconds))
    return statistics.median(decoded), statistics.median(unpacked)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="per round and side")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"binary decoders, {args.rounds} rounds x {args.seconds}s per side (medians)")
    cases = (
        ("10-field register map", register_plan()),
        ("0x2A1C measurement", layout("2a1c", TEMPERATURE_MEASUREMENT, "<BIHBBBBBB")),
        ("0x2A6E temperature", layout("2a6e", TEMPERATURE, "<h")),
    )
    for name, pair in cases:
        decoded, bare = measure(pair, args.seconds, args.rounds)
        print(
            f"{name:>22}: decoder {decoded:>11,.0f}/s; bare struct.unpack_from {bare:>11,.0f}/s; "
            f"the decoder runs at {decoded / bare:.2f}x the bare unpack's rate"
        )


if __name__ == "__main__":
    main()
