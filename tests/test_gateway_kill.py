"""SIGKILL the gateway while readings flow: every committed reading still
reaches the cloud, exactly once, after a restart."""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from pathlib import Path

from edgeward.drivers.simulators.power_meters import METER_REGISTERS, PowerMeters
from tests.peers.cloud import CloudServer
from tests.peers.gateway import (
    gateway_process,
    outbox_sequences,
    outbox_state,
    write_gateway_config,
)
from tests.peers.modbus import ModbusServerThread

UNITS = (1, 2, 3)


def committed_seq(config: Path) -> int:
    """How many readings the running gateway's outbox has committed (read-only peek).

    Counted from the file's first sequence, which starts above the clock, not at 1.
    """
    path = config.parent / "data" / "outbox.db"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            row = db.execute("SELECT seq FROM sqlite_sequence WHERE name='readings'").fetchone()
            first = db.execute("SELECT value FROM meta WHERE name = 'first_seq'").fetchone()
    except sqlite3.OperationalError:
        return 0  # schema not created yet
    return int(row[0]) - int(first[0]) if row and first else 0


def test_sigkill_loses_and_duplicates_nothing(tmp_path: Path, cloud: CloudServer) -> None:
    gateway = cloud.add_gateway(sources=[f"meter-{unit}" for unit in UNITS])
    token = cloud.token_with("readings:GET")
    with ModbusServerThread(UNITS) as modbus:
        modbus.update(lambda server: PowerMeters(server).update(time.time()))
        devices = [
            {
                "source": f"meter-{unit}",
                "unit": unit,
                "poll_interval": 0.01,
                "registers": METER_REGISTERS,
            }
            for unit in UNITS
        ]
        # Small batches make it likely that the kill lands between a batch
        # being stored in the cloud and its rows being deleted locally.
        config = write_gateway_config(
            tmp_path, cloud, gateway, modbus.port, devices, batch_max_readings=7
        )
        killed_at = []
        for round_number in range(3):
            process = gateway_process(config, f"gateway-{round_number}.log").start()
            target = committed_seq(config) + 150
            process.wait_for(
                lambda target=target: committed_seq(config) >= target,
                f"{target} committed readings",
            )
            process.kill()
            killed_at.append(committed_seq(config))
        with gateway_process(config, "gateway-final.log") as final:
            final.wait_for(lambda: committed_seq(config) > killed_at[-1] + 50, "more readings")
        assert final.process is not None
        assert final.process.returncode == 0, f"no clean stop:\n{final.log_tail()}"

    _, waiting = outbox_state(config)
    assert waiting == 0
    sequences = outbox_sequences(config)
    assert len(sequences) >= killed_at[-1]
    stored = [r for unit in UNITS for r in cloud.all_readings(token, f"meter-{unit}")]
    counts = Counter(reading["seq"] for reading in stored)
    assert counts == Counter(sequences), "each committed reading exactly once"
