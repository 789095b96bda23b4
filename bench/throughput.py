"""Readings per second through the gateway's outbox and uplink into the real cloud.

The machine this runs on is shared and noisy, and durable storage rests on
the disk: every group commit of the outbox is an fsync
(``synchronous=FULL``), and so is every batch the cloud stores. A readings/s
figure on its own would mostly measure the machine of the day. So each run
also measures a baseline on the same disk, in the same process, at the same
time: a raw ``sqlite3`` insert of the same rows (source, time_us, JSON
payload) into a WAL database with ``synchronous=FULL``, one transaction per
group of the same size. That is the floor of durably taking the readings on
this machine, with nothing of Edgeward in it; the ratio of Edgeward's rate to
it is what is comparable between runs and machines.

Paths measured, each ``--repeat`` times (interleaved, best run reported):

* raw sqlite insert: the baseline above (JSON encoding included, as the
  outbox encodes too);
* raw sqlite insert + AES-GCM: the same, each row sealed the way the outbox
  seals it (AES-256-GCM, a random 96-bit nonce, seq in the associated data)
  and stored as ``(seq, key_id, sealed)``: the floor of a *sealed* durable
  outbox on this machine, which the sealed outbox append is compared with;
* outbox append only (stage): ``Outbox.append`` in groups, no uplink;
* uplink drain only (stage): a pre-filled outbox drained into the cloud;
* edgeward end-to-end: appends in groups while the ``Uplink`` drains
  concurrently, from the first append until the outbox is empty and the
  cloud has acknowledged every reading.

The cloud is the real program (``edgeward cloud serve``, SQLite in a
temporary data directory) in a child process. What the cloud stored is
verified through ``GET /v1/readings`` after each timed run, outside the
timing. Every process and file the benchmark starts or writes is stopped or
removed on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from edgeward.gateway.outbox.data_keys import associated_data
from edgeward.gateway.outbox.store import NewReading, Outbox
from edgeward.gateway.outbox.uplink import Uplink
from edgeward.harness.local_cloud import LocalCloud, RegisteredGateway, read_pages
from edgeward.harness.processes import ChildProcessError
from edgeward.sync.batch import MAX_READINGS_PER_BATCH
from edgeward.sync.client import CloudClient
from edgeward.sync.clock import now_us

# How often the drain is checked for completion once every reading was sent.
POLL_INTERVAL = 0.005
PAGE_LIMIT = 1000
STARTUP_TIMEOUT = 60.0

# The baseline table: the outbox's columns, nothing else (a plain rowid table).
BASELINE_SCHEMA = """
CREATE TABLE readings (
    source TEXT NOT NULL,
    time_us INTEGER NOT NULL,
    payload BLOB NOT NULL
)
"""

Groups = list[list[NewReading]]


class BenchError(RuntimeError):
    """The benchmark could not measure what it set out to (a stall, a wrong count)."""


@dataclass(frozen=True, slots=True)
class Timing:
    seconds: float
    # Seconds from the first append until the last append returned (end-to-end only).
    appends_seconds: float | None = None


@dataclass(slots=True)
class PathResult:
    name: str
    batch: int | None
    timings: list[Timing] = field(default_factory=list)

    @property
    def best(self) -> Timing:
        return min(self.timings, key=lambda timing: timing.seconds)


def register(cloud: LocalCloud, token: str, gateway: RegisteredGateway, source: str) -> None:
    """The cloud stores readings of registered sources only."""
    cloud.register_source(token, source, gateway.id, {"bus": "bench", "unit": 1})


def round_trip(cloud: LocalCloud, requests: int = 21) -> float:
    """Median seconds of ``GET /healthz`` on one kept-alive connection: a request's floor."""
    times: list[float] = []
    with cloud.client() as client:
        client.get("/healthz").raise_for_status()  # connect outside the timing
        for _ in range(requests):
            start = time.perf_counter()
            client.get("/healthz").raise_for_status()
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def verify(
    cloud: LocalCloud, token: str, source: str, gateway: RegisteredGateway, expected: int
) -> None:
    """Page through ``source`` and check the cloud holds each reading exactly once."""
    seqs: list[int] = []
    with cloud.client(token, timeout=30) as client:
        for items, _ in read_pages(client, source, limit=PAGE_LIMIT):
            for item in items:
                if item["gateway_id"] != gateway.id:
                    raise BenchError(f"{source}: reading from {item['gateway_id']!r}")
                seqs.append(item["seq"])
    if len(seqs) != expected or len(set(seqs)) != expected:
        raise BenchError(
            f"{source}: the cloud holds {len(seqs)} readings "
            f"({len(set(seqs))} distinct), expected {expected}"
        )


def make_groups(source: str, readings: int, group: int, seed: int = 7) -> Groups:
    """``readings`` readings of one meter, 5 numeric values each, cut into commit groups."""
    rng = random.Random(seed)
    start_us = now_us()
    energy = 1_000_000
    rows: list[NewReading] = []
    for index in range(readings):
        energy += rng.randint(0, 40)
        voltage = round(230 + rng.uniform(-3, 3), 2)
        current = round(rng.uniform(4, 16), 3)
        values: dict[str, int | float] = {
            "voltage": voltage,
            "current": current,
            "power": round(voltage * current, 1),
            "energy": energy,
            "frequency": round(50 + rng.uniform(-0.05, 0.05), 3),
        }
        rows.append(NewReading(source=source, time_us=start_us + index * 1000, values=values))
    return [rows[i : i + group] for i in range(0, len(rows), group)]


def count(groups: Groups) -> int:
    return sum(len(group) for group in groups)


# --- the baseline ---------------------------------------------------------------------------


def raw_sqlite_insert(path: Path, groups: Groups) -> Timing:
    """The same rows, one transaction per group, straight into SQLite (WAL, FULL)."""
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute(BASELINE_SCHEMA)
        connection.commit()
        start = time.perf_counter()
        for group in groups:
            connection.executemany(
                "INSERT INTO readings (source, time_us, payload) VALUES (?, ?, ?)",
                [
                    (r.source, r.time_us, json.dumps(r.values, allow_nan=False).encode())
                    for r in group
                ],
            )
            connection.commit()
        seconds = time.perf_counter() - start
        (stored,) = connection.execute("SELECT count(*) FROM readings").fetchone()
    finally:
        connection.close()
    if stored != count(groups):
        raise BenchError(f"baseline stored {stored} rows, expected {count(groups)}")
    return Timing(seconds)


SEALED_SCHEMA = """
CREATE TABLE readings (
    seq INTEGER PRIMARY KEY,
    key_id INTEGER NOT NULL,
    sealed BLOB NOT NULL
)
"""


def raw_sealed_insert(path: Path, groups: Groups) -> Timing:
    """The same rows sealed with AES-GCM, one transaction per group (WAL, FULL)."""
    cipher = AESGCM(AESGCM.generate_key(bit_length=256))
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute(SEALED_SCHEMA)
        connection.commit()
        seq = 0
        start = time.perf_counter()
        for group in groups:
            rows = []
            for r in group:
                seq += 1
                plaintext = json.dumps(
                    [r.source, r.time_us, r.values], separators=(",", ":"), allow_nan=False
                ).encode()
                nonce = os.urandom(12)
                sealed = nonce + cipher.encrypt(nonce, plaintext, associated_data(seq, 1))
                rows.append((seq, 1, sealed))
            connection.executemany(
                "INSERT INTO readings (seq, key_id, sealed) VALUES (?, ?, ?)", rows
            )
            connection.commit()
        seconds = time.perf_counter() - start
        (stored,) = connection.execute("SELECT count(*) FROM readings").fetchone()
    finally:
        connection.close()
    if stored != count(groups):
        raise BenchError(f"sealed baseline stored {stored} rows, expected {count(groups)}")
    return Timing(seconds)


# --- Edgeward's paths -----------------------------------------------------------------------


async def outbox_append_only(path: Path, groups: Groups) -> Timing:
    outbox = Outbox(path, synchronous="full")
    await outbox.open()
    try:
        start = time.perf_counter()
        for group in groups:
            await outbox.append(group)
        seconds = time.perf_counter() - start
        depth = await outbox.depth()
    finally:
        await outbox.close()
    if depth != count(groups):
        raise BenchError(f"outbox holds {depth} readings, expected {count(groups)}")
    return Timing(seconds)


@dataclass(frozen=True, slots=True)
class Target:
    """Where and how the uplink sends: the cloud, as which gateway, in what batches."""

    cloud_url: str
    gateway: RegisteredGateway
    batch: int
    # How long one drain may take before the benchmark gives up on it.
    drain_limit: float


async def uplink_drain_only(path: Path, target: Target, groups: Groups) -> Timing:
    outbox = Outbox(path, synchronous="full")
    await outbox.open()
    try:
        for group in groups:  # untimed: fill the outbox first
            await outbox.append(group)
        start = time.perf_counter()
        await _drain(outbox, target, count(groups), None)
        return Timing(time.perf_counter() - start)
    finally:
        await outbox.close()


async def end_to_end(path: Path, target: Target, groups: Groups) -> Timing:
    outbox = Outbox(path, synchronous="full")
    await outbox.open()
    marks: dict[str, float] = {}

    async def produce(new_data: asyncio.Event) -> None:
        marks["start"] = time.perf_counter()
        for group in groups:
            await outbox.append(group)
            new_data.set()  # as the gateway's OutboxWriter does after each commit
        marks["appended"] = time.perf_counter()

    try:
        await _drain(outbox, target, count(groups), produce)
        seconds = time.perf_counter() - marks["start"]
    finally:
        await outbox.close()
    return Timing(seconds, appends_seconds=marks["appended"] - marks["start"])


async def _drain(
    outbox: Outbox,
    target: Target,
    expected: int,
    produce: Callable[[asyncio.Event], Awaitable[None]] | None,
) -> None:
    """Run the Uplink until the cloud acked ``expected`` readings and the outbox is empty.

    With ``produce``, the readings are appended (by it) while the uplink runs.
    """
    new_data = asyncio.Event()
    client = CloudClient(target.cloud_url, target.gateway.credential)
    uplink = Uplink(
        target.gateway.id,
        client,
        outbox,
        new_data,
        batch_max_readings=target.batch,
        idle_interval=0.01,
        backoff_max=1.0,
    )
    task = asyncio.create_task(uplink.run(), name="uplink")
    try:
        async with asyncio.timeout(target.drain_limit):
            if produce is not None:
                await produce(new_data)
            while True:
                if task.done():
                    task.result()  # raises what killed the uplink
                    raise BenchError("the uplink stopped by itself")
                if uplink.stats.readings_rejected:
                    raise BenchError(f"the cloud refused readings: {uplink.stats.last_error}")
                # The depth query goes through the outbox's one thread, which the uplink
                # needs too; ask only once the acks say everything has arrived.
                if uplink.stats.readings_sent >= expected and await outbox.depth() == 0:
                    break
                await asyncio.sleep(POLL_INTERVAL)
    except TimeoutError as exc:
        raise BenchError(
            f"timed out after {target.drain_limit}s: {uplink.stats.readings_sent} of "
            f"{expected} readings acked; last uplink error: {uplink.stats.last_error}"
        ) from exc
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await client.aclose()
    if uplink.stats.readings_sent != expected:
        raise BenchError(
            f"the uplink counted {uplink.stats.readings_sent} readings acked, expected "
            f"{expected} (a batch was resent)"
        )


# --- running and reporting ------------------------------------------------------------------


def rate(readings: int, seconds: float) -> float:
    return readings / seconds if seconds > 0 else float("inf")


def report(
    args: argparse.Namespace,
    results: Sequence[PathResult],
    baseline: PathResult,
    round_trip: float,
) -> None:
    n = args.readings
    base_rate = rate(n, baseline.best.seconds)
    print()
    print(
        f"Edgeward throughput: {n} readings of 1 source, 5 values each; "
        f"best of {args.repeat} run(s)"
    )
    header = (
        f"{'path':<30} {'readings':>8} {'group':>6} {'batch':>6} "
        f"{'seconds':>8} {'readings/s':>11} {'vs raw':>7}  runs (s)"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        best = result.best
        runs = " ".join(f"{timing.seconds:.3f}" for timing in result.timings)
        batch = str(result.batch) if result.batch is not None else "-"
        print(
            f"{result.name:<30} {n:>8} {args.group:>6} {batch:>6} {best.seconds:>8.3f} "
            f"{rate(n, best.seconds):>11,.0f} {rate(n, best.seconds) / base_rate:>6.2f}x  {runs}"
        )
        if best.appends_seconds is not None:
            tail = best.seconds - best.appends_seconds
            print(
                f"{'  of which appends':<30} {n:>8} {args.group:>6} {batch:>6} "
                f"{best.appends_seconds:>8.3f} {rate(n, best.appends_seconds):>11,.0f} "
                f"{rate(n, best.appends_seconds) / base_rate:>6.2f}x  "
                f"(then {tail:.3f}s until the last ack)"
            )
    end_to_end_result = results[-1]
    ratio = rate(n, end_to_end_result.best.seconds) / base_rate
    print()
    print(f"edgeward end-to-end is {ratio:.2f}x the raw SQLite insert rate")
    batches = -(-n // args.batch)
    print(
        f"cloud round trip (GET /healthz, kept-alive connection): {round_trip * 1000:.1f} ms "
        f"median; the uplink sends {batches} batches one at a time, so at least "
        f"{batches * round_trip:.3f}s of a drain is that floor"
    )


def report_sealing(readings: int, append_only: PathResult, sealed: PathResult) -> None:
    """The sealed outbox against the floor of sealing and storing the same rows by hand."""
    outbox_rate = rate(readings, append_only.best.seconds)
    floor_rate = rate(readings, sealed.best.seconds)
    print(
        f"sealed outbox append: {outbox_rate:,.0f} readings/s = "
        f"{outbox_rate / floor_rate:.2f}x raw sqlite + AES-GCM ({floor_rate:,.0f} readings/s)"
    )


def run(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="edgeward-bench-", dir=args.tmp_dir))
    cloud = LocalCloud(root)
    try:
        account = cloud.create_account("bench", "bench@example.com")
        cloud.start()
        token = cloud.create_token(account.owner_token, "readings:GET", name="bench")
        baseline = PathResult("raw sqlite insert (baseline)", None)
        sealed_baseline = PathResult("raw sqlite + AES-GCM (sealed)", None)
        append_only = PathResult("sealed outbox append (stage)", None)
        drain_only = PathResult("uplink drain only (stage)", args.batch)
        whole = PathResult("edgeward end-to-end", args.batch)
        # Untimed warm-up of the local paths (imports, first SQLite file on this disk), so
        # that the first timed baseline is not the cold one.
        warm_up = make_groups("bench-warm-up", min(args.readings, 10 * args.group), args.group)
        raw_sqlite_insert(root / "warm-up-raw.db", warm_up)
        asyncio.run(outbox_append_only(root / "warm-up-outbox.db", warm_up))
        for repetition in range(1, args.repeat + 1):
            label = f"{repetition}/{args.repeat}"
            # The same rows for the baseline, the append stage and the end-to-end run.
            source = f"bench-e2e-{repetition}"
            groups = make_groups(source, args.readings, args.group)

            baseline.timings.append(raw_sqlite_insert(root / f"raw-{repetition}.db", groups))
            _progress(label, baseline)
            path = root / f"sealed-{repetition}.db"
            sealed_baseline.timings.append(raw_sealed_insert(path, groups))
            _progress(label, sealed_baseline)

            if args.stages:
                path = root / f"append-{repetition}.db"
                append_only.timings.append(asyncio.run(outbox_append_only(path, groups)))
                _progress(label, append_only)

                drain_source = f"bench-drain-{repetition}"
                gateway = cloud.add_gateway(account.owner_token, drain_source)
                register(cloud, account.owner_token, gateway, drain_source)
                drain_groups = make_groups(drain_source, args.readings, args.group)
                target = Target(cloud.url, gateway, args.batch, args.timeout)
                path = root / f"drain-{repetition}.db"
                timing = asyncio.run(uplink_drain_only(path, target, drain_groups))
                verify(cloud, token, drain_source, gateway, args.readings)
                drain_only.timings.append(timing)
                _progress(label, drain_only)

            gateway = cloud.add_gateway(account.owner_token, source)
            register(cloud, account.owner_token, gateway, source)
            target = Target(cloud.url, gateway, args.batch, args.timeout)
            path = root / f"e2e-{repetition}.db"
            timing = asyncio.run(end_to_end(path, target, groups))
            verify(cloud, token, source, gateway, args.readings)
            whole.timings.append(timing)
            _progress(label, whole)

            if not cloud.process.alive():
                raise BenchError(f"the cloud died:\n{cloud.process.log_tail()}")
        stages = [append_only, drain_only] if args.stages else []
        report(args, [baseline, sealed_baseline, *stages, whole], baseline, round_trip(cloud))
        if args.stages:
            report_sealing(args.readings, append_only, sealed_baseline)
    finally:
        cloud.stop()
        shutil.rmtree(root, ignore_errors=True)


def _progress(label: str, result: PathResult) -> None:
    seconds = result.timings[-1].seconds
    print(f"[{label}] {result.name}: {seconds:.3f}s", file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--readings", type=int, default=20_000, help="readings per run")
    parser.add_argument("--group", type=int, default=100, help="readings per outbox commit")
    parser.add_argument("--batch", type=int, default=500, help="uplink batch_max_readings")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each path; best counts")
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds one drain may take before failing"
    )
    parser.add_argument(
        "--stages",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time the outbox appends and the uplink drain on their own",
    )
    parser.add_argument(
        "--tmp-dir",
        type=Path,
        default=None,
        help="where the databases go (the disk under test); default: the system's temp dir",
    )
    args = parser.parse_args(argv)
    for name in ("readings", "group", "repeat"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if not 1 <= args.batch <= MAX_READINGS_PER_BATCH:
        parser.error(f"--batch must be between 1 and {MAX_READINGS_PER_BATCH}")
    if args.timeout <= 0:
        parser.error("--timeout must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C, so the cloud child is stopped too.
    signal.signal(signal.SIGTERM, _terminate)
    try:
        run(args)
    except (BenchError, ChildProcessError) as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench interrupted", file=sys.stderr)
        return 130
    return 0


def _terminate(_signum: int, _frame: FrameType | None) -> None:
    # Passed on as SIGINT: inside asyncio.run that cancels the main task cleanly
    # instead of raising in whichever task happens to be running.
    if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.SIG_DFL, None):
        raise KeyboardInterrupt
    signal.raise_signal(signal.SIGINT)


if __name__ == "__main__":
    sys.exit(main())
