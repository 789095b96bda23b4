"""CPU use of the gateway program polling 20 Modbus TCP meters at 1 Hz, beside the simulator's.

An edge gateway shares a small box with other work, so what it costs while
doing its ordinary job matters more than its peak rate: the target is under
2% of one core for 20 devices polled once a second. The gateway measured is
the real program (``edgeward gateway run``) doing its full job: polling,
decoding, sealing each reading into the outbox (``synchronous=FULL``),
committing and uploading it to the real cloud (``edgeward cloud serve``, a
temporary SQLite data directory). The meters are the real simulator
(``edgeward simulate modbus-meters``, one endpoint, units 1..20); every
program runs in its own child process, with default settings otherwise.

After a warm-up that lasts until the cloud holds readings of every meter,
the gateway's CPU time (utime + stime from ``/proc/<pid>/stat``) is sampled
at the start and the end of a ``--seconds`` window; CPU% of one core is CPU
seconds over wall seconds. Absolute CPU on this shared machine is noisy, so
the simulator's CPU over the same window is printed beside it as the
baseline: it answers the same 20 requests a second (and moves its 20 meters'
values twice a second), with no outbox, crypto or uplink. The readings the
gateway committed and the cloud stored per second in the window show the
work was done. Every child is stopped and the temporary directory removed on
exit.

    python bench/gateway_cpu.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from edgeward.gateway.config.toml_writer import dump_toml, write_secret
from edgeward.harness.local_cloud import LocalCloud, RegisteredGateway, read_pages
from edgeward.harness.processes import ChildProcess, ChildProcessError

HOST = "127.0.0.1"
METERS = 20
POLL_INTERVAL = 1.0
TARGET_CPU_PERCENT = 2.0
WARM_UP_TIMEOUT = 60.0


class BenchError(RuntimeError):
    """The benchmark could not measure what it set out to (the gateway did not do its job)."""


def sources() -> list[str]:
    return [f"meter-{unit}" for unit in range(1, METERS + 1)]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) may hold spaces: split after its closing parenthesis.
    fields = stat.rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def write_config(root: Path, cloud_url: str, gateway: RegisteredGateway, port: int) -> Path:
    gateway_dir = root / "gateway"
    write_secret(gateway_dir / "credential", gateway.credential)
    devices = [
        {
            "source": source,
            "unit": unit,
            "poll_interval": POLL_INTERVAL,
        }
        for unit, source in enumerate(sources(), start=1)
    ]
    document = {
        "gateway": {"id": gateway.id, "data_dir": "data"},
        "cloud": {"url": cloud_url, "credential_file": "credential"},
        "modbus_tcp": [{"host": HOST, "port": port, "devices": devices}],
    }
    path = gateway_dir / "gateway.toml"
    path.write_text(dump_toml(document))
    return path


def cloud_has_every_source(client: httpx.Client) -> bool:
    for source in sources():
        page = client.get("/v1/readings", params={"source": source, "limit": 1})
        if not page.raise_for_status().json()["items"]:
            return False
    return True


def cloud_count(client: httpx.Client) -> int:
    """Readings the cloud holds of all the meters."""
    return sum(
        len(items) for source in sources() for items, _ in read_pages(client, source, limit=1000)
    )


def read_status(config: Path) -> dict[str, Any] | None:
    try:
        document = json.loads((config.parent / "data" / "status.json").read_bytes())
    except (OSError, ValueError):
        return None  # not written yet, or being replaced
    return document if isinstance(document, dict) else None


@dataclass(frozen=True, slots=True)
class Sample:
    """What is read at one edge of the window."""

    wall: float
    gateway_cpu: float
    simulator_cpu: float
    status: dict[str, Any]


def sample(gateway: ChildProcess, simulator: ChildProcess, config: Path) -> Sample:
    wall = time.monotonic()
    gateway_cpu = cpu_seconds(gateway.pid)
    simulator_cpu = cpu_seconds(simulator.pid)
    status = read_status(config)
    if status is None:
        raise BenchError("the gateway wrote no status.json")
    return Sample(wall, gateway_cpu, simulator_cpu, status)


def committed_rate(first: dict[str, Any], last: dict[str, Any]) -> float:
    """Readings committed to the outbox per second, between two status.json snapshots."""
    readings = last["outbox"]["committed_total"] - first["outbox"]["committed_total"]
    seconds = (last["updated_us"] - first["updated_us"]) / 1e6
    return float(readings / seconds) if seconds > 0 else 0.0


def device_failures(status: dict[str, Any]) -> int:
    return sum(int(device["failures"]) for device in status["devices"].values())


def watch(*children: ChildProcess, until: float) -> None:
    """Let time pass until ``until`` (monotonic), failing as soon as a child dies."""
    while (left := until - time.monotonic()) > 0:
        time.sleep(min(left, 1.0))
        for child in children:
            if not child.alive():
                raise BenchError(f"{child.name} died:\n{child.log_tail()}")


def run(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="edgeward-bench-"))
    cloud = LocalCloud(root)
    port_file = root / "meters.port"
    units = [str(unit) for unit in range(1, METERS + 1)]
    meters = ["modbus-meters", "--port", "0", "--port-file", str(port_file), "--units", *units]
    simulator = ChildProcess("meters", ["simulate", *meters], root / "meters.log")
    gateway: ChildProcess | None = None
    try:
        simulator.start()
        port = simulator.wait_for_port_file(port_file)
        account = cloud.create_account("bench", "bench@example.com")
        cloud.start()
        token = cloud.create_token(account.owner_token, "readings:GET", name="bench")
        registered = cloud.add_gateway(account.owner_token, "bench-gateway")
        for unit, source in enumerate(sources(), start=1):
            binding: dict[str, str | int] = {"bus": f"modbus-tcp://{HOST}:{port}", "unit": unit}
            cloud.register_source(account.owner_token, source, registered.id, binding)
        config = write_config(root, cloud.url, registered, port)
        gateway = ChildProcess(
            "gateway", ["gateway", "run", "--config", str(config)], root / "gateway.log"
        )
        gateway.start()
        with cloud.client(token, timeout=30) as client:
            started = time.monotonic()
            gateway.wait_for(
                lambda: cloud_has_every_source(client),
                f"readings of all {METERS} meters in the cloud",
                timeout=WARM_UP_TIMEOUT,
            )
            gateway.wait_for(lambda: read_status(config) is not None, "status.json")
            # Past the start-up work (imports, connecting, the first batches) into the steady state.
            watch(gateway, simulator, cloud.process, until=started + args.warm_up)
            warm_up = time.monotonic() - started

            stored_before, counted_before = cloud_count(client), time.monotonic()
            first = sample(gateway, simulator, config)
            watch(gateway, simulator, cloud.process, until=first.wall + args.seconds)
            last = sample(gateway, simulator, config)
            stored_rate = (cloud_count(client) - stored_before) / (
                time.monotonic() - counted_before
            )
    finally:
        try:
            if gateway is not None:
                gateway.stop()
        finally:
            try:
                cloud.stop()
            finally:
                simulator.stop()
                shutil.rmtree(root, ignore_errors=True)
    report(warm_up, first, last, stored_rate)


def report(warm_up: float, first: Sample, last: Sample, stored: float) -> None:
    wall = last.wall - first.wall
    gateway = (last.gateway_cpu - first.gateway_cpu) / wall * 100
    simulator = (last.simulator_cpu - first.simulator_cpu) / wall * 100
    committed = committed_rate(first.status, last.status)
    failures = device_failures(last.status) - device_failures(first.status)
    uplink_failures = (
        last.status["uplink"]["failures_total"] - first.status["uplink"]["failures_total"]
    )
    expected = METERS / POLL_INTERVAL
    print(
        f"Gateway CPU, {METERS} Modbus TCP meters polled every {POLL_INTERVAL:g} s, "
        f"uploading to the real cloud; {wall:.1f} s window after a {warm_up:.1f} s warm-up:"
    )
    print(f"  gateway (edgeward gateway run)        {gateway:6.2f}% of one core")
    print(f"  simulator (same 20 polls/s, baseline) {simulator:6.2f}% of one core")
    ratio = f"{gateway / simulator:.2f}x" if simulator > 0 else "n/a (simulator used no CPU)"
    print(f"  gateway / simulator                   {ratio:>6}")
    print(
        f"  readings/s committed to the outbox {committed:6.2f}, stored by the cloud "
        f"{stored:6.2f} (expected {expected:g}); poll failures {failures}, "
        f"uplink failures {uplink_failures}"
    )
    if committed < 0.9 * expected:
        print(f"  WARNING: the gateway took fewer readings than the {expected:g}/s configured")
    verdict = "within" if gateway < TARGET_CPU_PERCENT else "OVER"
    print(
        f"verdict: the gateway used {gateway:.2f}% of one core, {verdict} the "
        f"{TARGET_CPU_PERCENT:g}% target"
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=60.0, help="the measured window")
    parser.add_argument(
        "--warm-up",
        type=float,
        default=5.0,
        help="seconds from the gateway's start to the window, at least until every meter's "
        "readings reached the cloud",
    )
    args = parser.parse_args(argv)
    if args.seconds <= 0:
        parser.error("--seconds must be positive")
    if args.warm_up < 0:
        parser.error("--warm-up must not be negative")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C, so the children are stopped too.
    signal.signal(signal.SIGTERM, _terminate)
    try:
        run(args)
    except (BenchError, ChildProcessError, httpx.HTTPError) as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench interrupted", file=sys.stderr)
        return 130
    return 0


def _terminate(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
