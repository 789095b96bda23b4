"""The shipped serial sensor simulator (``edgeward simulate serial-sensor``) as a child process."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from edgeward.harness.processes import ChildProcess


@contextlib.contextmanager
def serial_sensor(port: Path, log_dir: Path, *options: str) -> Iterator[ChildProcess]:
    """Run the sensor until the block ends, from the moment it has opened ``port``.

    Opening a tty flushes its input, so a request written before that is lost.
    """
    log = log_dir / "serial-sensor.log"
    process = ChildProcess(
        "serial-sensor", ["simulate", "serial-sensor", "--port", str(port), *options], log
    )
    with process:
        process.wait_for(
            lambda: log.exists() and f"open {port}" in log.read_text(),
            "the serial sensor to open its port",
        )
        yield process
