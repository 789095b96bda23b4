"""The benchmarks still run end to end (tiny sizes; no timing is asserted here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# Slow: each runs a benchmark end to end.
pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.mark.parametrize(
    "command",
    [
        ["throughput.py", "--readings", "500", "--repeat", "1"],
        ["auth_overhead.py", "--requests", "20", "--rounds", "2"],
        ["serial_lines.py", "--lines", "1000", "--rounds", "2"],
        ["backlog_drain.py", "--readings", "2000"],
        ["gateway_cpu.py", "--seconds", "3"],
        ["proxy_overhead.py", "--calls", "20", "--rounds", "2"],
        ["admission.py", "--readings", "200", "--rounds", "1"],
        ["binary_decoders.py", "--seconds", "0.05", "--rounds", "1"],
        ["text_decoders.py", "--frames", "200", "--rounds", "1"],
        ["readings_query.py", "--readings", "2000", "--sources", "20", "--rounds", "1"],
    ],
)
def test_benchmark_runs(command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH / command[0]), *command[1:]],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    markers = (
        "x the raw SQLite",
        "authentication costs",
        "the bare loop's rate",
        "verdict: the gateway used",
        "peak RSS grows",
        "proxy overhead per call",
        "the bare primitive's rate",
        "the bare unpack's rate",
        "x the SQL (target",
    )
    assert any(marker in result.stdout for marker in markers), result.stdout[-2000:]
