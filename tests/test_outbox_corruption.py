"""A corrupt outbox on a real gateway: moved aside, a fresh one started, and the
new readings still reach the real cloud (their sequences are not taken for
duplicates of the old file's)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from edgeward.drivers.simulators.power_meters import METER_REGISTERS, PowerMeters
from tests.peers.cloud import CloudServer
from tests.peers.gateway import gateway_process, write_gateway_config
from tests.peers.modbus import ModbusServerThread


@pytest.mark.slow
def test_gateway_replaces_a_corrupt_outbox_and_keeps_delivering(tmp_path: Path) -> None:
    cloud = CloudServer(tmp_path, f"sqlite:///{tmp_path / 'cloud.db'}").start()
    try:
        gateway = cloud.add_gateway(sources=["meter-1"])
        token = cloud.token_with("readings:GET")
        with ModbusServerThread([1]) as modbus:
            modbus.update(lambda server: PowerMeters(server).update(time.time()))
            devices = [
                {
                    "source": "meter-1",
                    "unit": 1,
                    "poll_interval": 0.02,
                    "registers": METER_REGISTERS,
                }
            ]
            config = write_gateway_config(tmp_path, cloud, gateway, modbus.port, devices)
            with gateway_process(config, "gateway-1.log") as first:
                first.wait_for(lambda: len(cloud.all_readings(token, "meter-1")) >= 20, "readings")
            before = cloud.all_readings(token, "meter-1")
            old_highest = max(r["seq"] for r in before)

            outbox = config.parent / "data" / "outbox.db"
            size = outbox.stat().st_size
            outbox.write_bytes(os.urandom(size))  # garbage over the whole file

            with gateway_process(config, "gateway-2.log") as second:
                second.wait_for(
                    lambda: (
                        sum(r["seq"] > old_highest for r in cloud.all_readings(token, "meter-1"))
                        >= 20
                    ),
                    "new readings in the cloud after the corrupt outbox",
                )
        after = cloud.all_readings(token, "meter-1")
        assert after[: len(before)] == before, "nothing already stored was disturbed"
        moved = [p for p in outbox.parent.glob("outbox.db.corrupt-*") if p.name.endswith("Z")]
        assert len(moved) == 1, "the corrupt file is kept for an engineer"
        status = json.loads((outbox.parent / "status.json").read_text())
        assert status["outbox"]["moved_aside"] == [moved[0].name], "reported in the status"
        log = (config.parent / "gateway-2.log").read_text()
        assert "is corrupt; moved aside" in log
        assert gateway.credential not in log
    finally:
        cloud.stop()
