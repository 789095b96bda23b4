"""The cloud goes away and comes back: the gateway keeps every reading on disk
meanwhile and delivers them all, without a restart."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from edgeward.drivers.simulators.power_meters import METER_REGISTERS, PowerMeters
from tests.peers.cloud import CloudServer
from tests.peers.gateway import (
    gateway_process,
    outbox_sequences,
    outbox_state,
    write_gateway_config,
)
from tests.peers.modbus import ModbusServerThread
from tests.test_gateway_kill import committed_seq

# Slow: waits out a stopped cloud.
pytestmark = pytest.mark.slow


def test_readings_wait_out_a_cloud_outage(tmp_path: Path, database_url: str) -> None:
    cloud = CloudServer(tmp_path, database_url).start()
    port = int(cloud.url.rsplit(":", 1)[1])
    gateway = cloud.add_gateway(sources=["meter-1"])
    token = cloud.token_with("readings:GET")
    try:
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
            with gateway_process(config) as process:
                process.wait_for(
                    lambda: len(cloud.all_readings(token, "meter-1")) > 0, "first data"
                )
                cloud.stop()
                during_outage = committed_seq(config) + 100
                process.wait_for(
                    lambda: committed_seq(config) >= during_outage, "readings during the outage"
                )
                cloud = CloudServer(tmp_path, database_url, port=port).start()
                process.wait_for(
                    lambda: len(cloud.all_readings(token, "meter-1")) >= during_outage,
                    "the backlog in the cloud",
                    timeout=60,
                )
        _, waiting = outbox_state(config)
        assert waiting == 0
        seqs = Counter(r["seq"] for r in cloud.all_readings(token, "meter-1"))
        assert seqs == Counter(outbox_sequences(config))
        log = (config.parent / "gateway.log").read_text()
        assert "uplink failing" in log and "cloud reachable again" in log
        assert gateway.credential not in log
    finally:
        cloud.stop()
