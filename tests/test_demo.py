"""``edgeward demo`` shows readings of every simulated device arriving and leaves nothing behind.

The test machine has socat and mosquitto, so the serial and MQTT sensors run
too; BLE is always left out, with the reason printed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def processes_mentioning(text: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{proc.name}: {cmdline}")
    return found


def test_demo_runs_and_cleans_up() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "edgeward", "demo", "--seconds", "6"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "160"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    workdir = re.search(r"Edgeward demo in (\S+)", result.stdout)
    arrived = re.search(r"(\d+) readings arrived in the cloud", result.stdout)
    assert workdir and arrived, result.stdout
    received = {
        source: int(count)
        for source, count in re.findall(r"^  (\S+): (\d+) readings$", result.stdout, re.M)
    }
    assert set(received) == {"meter-1", "meter-2", "probe-1", "room-1"}, result.stdout
    assert all(count >= 2 for count in received.values()), received
    assert int(arrived.group(1)) == sum(received.values())
    assert "BLE left out" in result.stdout
    assert "[4/4] ✓ cloud answers directly" in result.stdout, "provisioned with a claim code"
    assert "tunnel left out" in result.stdout
    assert "left out: socat" not in result.stdout and "left out: mosquitto" not in result.stdout
    assert not Path(workdir.group(1)).exists(), "the temporary directory is removed"
    assert processes_mentioning(workdir.group(1)) == [], "no child process is left running"
