"""The shipped serial sensor simulator (``edgeward simulate serial-sensor``) as a child process."""

from __future__ import annotations

from pathlib import Path

from edgeward.processes import ChildProcess


def serial_sensor(port: Path, log_dir: Path, *options: str) -> ChildProcess:
    return ChildProcess(
        "serial-sensor",
        ["simulate", "serial-sensor", "--port", str(port), *options],
        log_dir / "serial-sensor.log",
    )
