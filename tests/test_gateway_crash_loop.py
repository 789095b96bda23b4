"""SIGKILL the gateway at 50 random moments while readings flow and the cloud restarts
now and then: afterwards every committed reading is in the cloud exactly once.

The moments are random in what the gateway is doing (a seeded number of new commits
after start, so the kill lands in polls, group commits, sends, acks and deletes),
not random sleeps. Small batches and fast polls keep each round short.
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
import time
from collections import Counter
from pathlib import Path

import pytest

from edgeward.drivers.simulators.power_meters import METER_REGISTERS, PowerMeters
from edgeward.harness.processes import ChildProcess
from tests.peers.cloud import CloudServer
from tests.peers.gateway import (
    gateway_process,
    outbox_sequences,
    outbox_state,
    write_gateway_config,
)
from tests.peers.modbus import ModbusServerThread
from tests.test_gateway_kill import committed_seq

UNITS = (1, 2, 3)
KILLS = 50
CLOUD_RESTART_EVERY = 16


@pytest.mark.slow
def test_fifty_sigkills_and_cloud_restarts_lose_and_duplicate_nothing(
    tmp_path: Path, database_url: str
) -> None:
    """On SQLite and on PostgreSQL cloud stores (the database_url fixture)."""
    rng = random.Random(20261126)
    database = database_url
    cloud = CloudServer(tmp_path, database).start()
    port = int(cloud.url.rsplit(":", 1)[1])
    gateway = cloud.add_gateway(sources=[f"meter-{u}" for u in UNITS])
    token = cloud.token_with("readings:GET")
    try:
        modbus = ModbusServerThread(UNITS).start()
        try:
            modbus.update(lambda server: PowerMeters(server).update(time.time()))
            devices = [
                {
                    "source": f"meter-{u}",
                    "unit": u,
                    "poll_interval": 0.01,
                    "registers": METER_REGISTERS,
                }
                for u in UNITS
            ]
            config = write_gateway_config(
                tmp_path,
                cloud,
                gateway,
                modbus.port,
                devices,
                batch_max_readings=7,
                batch_max_age=0.01,
                idle_interval=0.02,
                backoff_max=0.2,
            )
            for round_number in range(KILLS):
                process = gateway_process(config, "gateway-rounds.log").start()
                wait_for_commits(process, config, rng.randint(1, 60), f"round {round_number}")
                if round_number % CLOUD_RESTART_EVERY == CLOUD_RESTART_EVERY - 1:
                    # The cloud goes away under a running gateway and comes back; the
                    # kill then lands while the backlog of the outage is being sent.
                    cloud.stop()
                    wait_for_commits(process, config, rng.randint(20, 100), "outage")
                    cloud = CloudServer(tmp_path, database, port=port).start()
                    wait_for_commits(process, config, rng.randint(1, 30), "after the outage")
                process.kill()
            # Last run: stop the devices, let the backlog drain, stop cleanly.
            modbus.stop()
            with gateway_process(config, "gateway-final.log") as final:
                final.wait_for(lambda: outbox_depth(config) == 0, "the backlog drained", timeout=60)
        except BaseException:
            with contextlib.suppress(Exception):
                modbus.stop()
            raise
        _, waiting = outbox_state(config)
        assert waiting == 0
        counts = Counter(stored(cloud, token))
        assert counts == Counter(outbox_sequences(config)), "each committed reading exactly once"
    finally:
        cloud.stop()


def wait_for_commits(process: ChildProcess, config: Path, more: int, what: str) -> None:
    target = committed_seq(config) + more
    process.wait_for(lambda: committed_seq(config) >= target, f"{what}: {target} committed")


def outbox_depth(config: Path) -> int:
    """Readings in the outbox, peeked at read-only while the gateway runs."""
    path = config.parent / "data" / "outbox.db"
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
        (count,) = db.execute("SELECT count(*) FROM readings").fetchone()
    return int(count)


def stored(cloud: CloudServer, token: str) -> list[int]:
    return [int(r["seq"]) for u in UNITS for r in cloud.all_readings(token, f"meter-{u}")]
