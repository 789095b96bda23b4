"""Draining a backlog into the cloud on PostgreSQL, and the gateway's memory while it does.

A gateway that was cut off for days comes back with a large backlog. This
fills a gateway's sealed outbox with ``--readings`` readings (default
1,000,000), starts the real gateway program against the real cloud on a
fresh PostgreSQL database, and times the drain until the cloud holds every
reading. The baseline, measured in the same run on the same server, is a
raw batched INSERT of the same number of rows into a table of the same
shape: the cost of storing them with nothing of Edgeward in between.

It also reports the gateway's peak resident memory (VmHWM) for the full
backlog and for a tenth of it: the uplink reads the outbox a batch at a
time, so the peak must not grow with the backlog.

Needs PostgreSQL (``EDGEWARD_BENCH_POSTGRES``, default
postgresql://postgres@127.0.0.1:5432/postgres). Run: ``make bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import psycopg
from scratch_postgres import fresh_database

from edgeward.gateway.config.toml_writer import dump_toml, write_secret
from edgeward.gateway.outbox.store import NewReading, Outbox
from edgeward.harness.local_cloud import LocalCloud
from edgeward.harness.processes import ChildProcess

VALUES = {"voltage": 230.12, "current": 12.345, "power": 2841.2, "energy": 1_000_123}
GROUP = 1000


def fill(outbox_path: Path, readings: int, source: str) -> None:
    async def main() -> None:
        outbox = Outbox(outbox_path)
        await outbox.open()
        try:
            start = 1_764_100_000_000_000
            for first in range(0, readings, GROUP):
                count = min(GROUP, readings - first)
                await outbox.append(
                    [
                        NewReading(source, start + n, {**VALUES, "n": n})
                        for n in range(first, first + count)
                    ]
                )
        finally:
            await outbox.close()

    asyncio.run(main())


def raw_insert_seconds(db_url: str, readings: int) -> float:
    """The baseline: the same rows, batched INSERTs straight into PostgreSQL."""
    with psycopg.connect(db_url) as connection:
        connection.execute(
            "CREATE TABLE raw_readings (id BIGSERIAL PRIMARY KEY, gateway_id TEXT, seq BIGINT, "
            "source TEXT, time_us BIGINT, values_json JSON, UNIQUE (gateway_id, seq))"
        )
        connection.commit()
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for first in range(0, readings, 500):
                rows = [
                    ("gw", n + 1, "raw", 1_764_100_000_000_000 + n, json.dumps({**VALUES, "n": n}))
                    for n in range(first, min(first + 500, readings))
                ]
                cursor.executemany(
                    "INSERT INTO raw_readings (gateway_id, seq, source, time_us, values_json) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    rows,
                )
                connection.commit()
        return time.perf_counter() - started


def stored(db_url: str, gateway_id: str) -> int:
    with psycopg.connect(db_url) as connection:
        row = connection.execute(
            "SELECT count(*) FROM readings WHERE gateway_id = %s", (gateway_id,)
        ).fetchone()
    return int(row[0]) if row else 0


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def drain(
    root: Path, cloud: LocalCloud, owner_token: str, db_url: str, readings: int
) -> tuple[float, int]:
    """(seconds until the cloud holds every reading, the gateway's peak RSS in KiB)."""
    source = f"backlog-{readings}"
    gateway = cloud.add_gateway(owner_token, source)
    cloud.register_source(owner_token, source, gateway.id, {"bus": "bench", "unit": 1})
    directory = root / source
    fill(directory / "data" / "outbox.db", readings, source)
    write_secret(directory / "credential", gateway.credential)
    config = directory / "gateway.toml"
    config.write_text(
        dump_toml(
            {
                "gateway": {"id": gateway.id, "data_dir": "data"},
                "cloud": {"url": cloud.url, "credential_file": "credential"},
                "outbox": {"max_bytes": 4 * 1024**3},
                "health": {"status_interval": 0.2},
            }
        )
    )
    process = ChildProcess(
        "gateway", ["gateway", "run", "--config", str(config)], directory / "gateway.log"
    ).start()
    try:
        started = time.perf_counter()
        peak = 0

        status = directory / "data" / "status.json"

        def drained() -> bool:
            # The gateway's own status, not a count(*) on the cloud's table: polling
            # the database would compete with the very inserts being timed.
            nonlocal peak
            peak = max(peak, peak_rss_kib(process.pid))
            try:
                published = json.loads(status.read_text())
            except (OSError, ValueError):
                return False
            sent = published["uplink"]["readings_sent_total"]
            return bool(published["outbox"]["depth"] == 0 and sent >= readings)

        process.wait_for(drained, f"{readings} readings sent", timeout=3600)
        seconds = time.perf_counter() - started
        if stored(db_url, gateway.id) != readings:
            raise RuntimeError(f"the cloud holds {stored(db_url, gateway.id)} of {readings}")
        return seconds, max(peak, peak_rss_kib(process.pid))
    finally:
        process.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readings", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="edgeward-bench-drain-") as temporary,
        fresh_database() as db_url,
    ):
        root = Path(temporary)
        cloud = LocalCloud(root, db_url=db_url)
        account = cloud.create_account("bench", "bench@example.com")
        cloud.start()
        try:
            raw = raw_insert_seconds(db_url, args.readings)
            small_seconds, small_peak = drain(
                root, cloud, account.owner_token, db_url, max(1000, args.readings // 10)
            )
            seconds, peak = drain(root, cloud, account.owner_token, db_url, args.readings)
        finally:
            cloud.stop()
    rate, raw_rate = args.readings / seconds, args.readings / raw
    print(f"backlog drain into the cloud on PostgreSQL: {args.readings:,} readings")
    print(f"raw batched INSERT (baseline)   {raw:8.1f}s {raw_rate:>10,.0f} rows/s")
    print(
        f"gateway -> cloud drain          {seconds:8.1f}s {rate:>10,.0f} readings/s"
        f"  ({rate / raw_rate:.2f}x the raw insert)"
    )
    print(
        f"gateway peak RSS: {peak / 1024:.0f} MiB draining {args.readings:,}; "
        f"{small_peak / 1024:.0f} MiB draining {max(1000, args.readings // 10):,} "
        f"({small_seconds:.1f}s)"
    )
    print(f"peak RSS grows {peak / small_peak:.2f}x for a backlog 10x larger")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
