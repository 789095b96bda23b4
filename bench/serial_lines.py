"""Serial lines per second through the streaming driver, beside a bare pyserial loop.

Both read the same stream of sensor lines from one end of a socat pty pair
while a writer thread fills the other end as fast as the pty takes it. A
pty's speed depends on the machine of the day, so the driver's rate is
printed as a ratio to a bare ``readline`` loop measured in the same run,
alternating rounds so that load arriving or leaving falls on both.

Run: ``make bench`` or ``.venv/bin/python bench/serial_lines.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import serial

from edgeward.drivers.base import Reading
from edgeward.drivers.serial.framing import LineFramer
from edgeward.drivers.serial.port import SerialSettings
from edgeward.drivers.serial.stream import SerialDriver
from edgeward.harness.processes import ChildProcess

LINE = b"1234,21.50,48.5\n"


def start_pair(directory: Path) -> tuple[ChildProcess, Path, Path]:
    socat = shutil.which("socat")
    if socat is None:
        raise SystemExit("socat is not installed: apt-get install socat")
    reader, writer = directory / "reader", directory / "writer"
    pair = ChildProcess(
        "socat",
        [f"pty,raw,echo=0,link={reader}", f"pty,raw,echo=0,link={writer}"],
        directory / "socat.log",
        program=socat,
    ).start()
    pair.wait_for(lambda: reader.exists() and writer.exists(), "the pty links", timeout=10)
    return pair, reader, writer


def feed(writer_end: Path, lines: int, ready: threading.Event) -> threading.Thread:
    """Write ``lines`` lines once ``ready`` is set (the reader is listening)."""

    def write() -> None:
        with serial.Serial(str(writer_end), timeout=5, write_timeout=30) as port:
            ready.wait(10)
            block = LINE * 100
            for _ in range(lines // 100):
                port.write(block)
            port.flush()

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def bare_round(reader_end: Path, writer_end: Path, lines: int) -> float:
    with serial.Serial(str(reader_end), timeout=5) as port:
        ready = threading.Event()
        thread = feed(writer_end, lines, ready)
        ready.set()
        started = time.perf_counter()
        received = 0
        while received < lines:  # the least a reader can do: read what waits, count lines
            data = port.read(max(1, port.in_waiting))
            if not data:
                raise RuntimeError("the bare loop timed out")
            received += data.count(b"\n")
        seconds = time.perf_counter() - started
    thread.join(10)
    return seconds


def driver_round(reader_end: Path, writer_end: Path, lines: int) -> float:
    async def main() -> float:
        driver = SerialDriver(SerialSettings(str(reader_end)), "probe", LineFramer())
        received = 0
        done = asyncio.Event()

        # Opened mid-stream, the driver drops bytes up to the first delimiter (they
        # may be a frame's tail): the first line is never a reading.
        expected = lines - 1

        async def emit(reading: Reading) -> None:
            nonlocal received
            received += 1
            if received == expected:
                done.set()

        task = asyncio.create_task(driver.run(emit))
        async with asyncio.timeout(10):  # until the port is open and read
            while not driver.port.is_open:  # noqa: ASYNC110 - the driver has no "opened" event
                await asyncio.sleep(0.005)
        ready = threading.Event()
        thread = feed(writer_end, lines, ready)
        ready.set()
        started = time.perf_counter()
        async with asyncio.timeout(60):
            await done.wait()
        seconds = (time.perf_counter() - started) * lines / expected
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        thread.join(10)
        return seconds

    return asyncio.run(main())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    lines = max(100, args.lines - args.lines % 100)
    with tempfile.TemporaryDirectory(prefix="edgeward-bench-serial-") as temporary:
        pair, reader_end, writer_end = start_pair(Path(temporary))
        try:
            ratios, driver_rates, bare_rates = [], [], []
            for index in range(args.rounds):
                order = ("bare", "driver") if index % 2 == 0 else ("driver", "bare")
                seconds = {}
                for kind in order:
                    run = bare_round if kind == "bare" else driver_round
                    seconds[kind] = run(reader_end, writer_end, lines)
                driver_rates.append(lines / seconds["driver"])
                bare_rates.append(lines / seconds["bare"])
                ratios.append(seconds["bare"] / seconds["driver"])
        finally:
            pair.stop()
    print(f"serial lines through a socat pty pair: {args.rounds} alternating rounds of {lines}")
    print(f"bare pyserial read loop      {statistics.median(bare_rates):>10,.0f} lines/s")
    print(f"SerialDriver (line framing)  {statistics.median(driver_rates):>10,.0f} lines/s")
    print(f"the driver reads {statistics.median(ratios):.2f}x the bare loop's rate (median)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
