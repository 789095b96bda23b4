"""``edgeward demo`` shows readings arriving and leaves nothing behind."""

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
    assert int(arrived.group(1)) >= 4, "two meters polled once a second for six seconds"
    assert "meter-1" in result.stdout and "meter-2" in result.stdout
    assert not Path(workdir.group(1)).exists(), "the temporary directory is removed"
    assert processes_mentioning(workdir.group(1)) == [], "no child process is left running"
