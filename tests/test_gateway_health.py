"""Health of a real gateway: `edgeward gateway status` and the Prometheus metrics show
outbox depth, send rate, last success and last error, and the key never reaches a log."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from edgeward.drivers.simulators.power_meters import METER_REGISTERS, PowerMeters
from edgeward.gateway.config.loader import load_config
from edgeward.gateway.health.status_table import EXIT_NO_STATUS, EXIT_STALE, show_status
from edgeward.sync.clock import now_us
from tests.peers.cloud import CloudServer, RegisteredGateway
from tests.peers.gateway import gateway_process, write_gateway_config
from tests.peers.modbus import ModbusServerThread

HEALTH = "\n[health]\nstatus_interval = 0.1\nmetrics_port = 0\n"


def status_of(config: Path) -> dict[str, Any] | None:
    try:
        document = json.loads((config.parent / "data" / "status.json").read_text())
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def run_status(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edgeward", "gateway", "status", "--config", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )


def table(text: str) -> dict[str, str]:
    """The status table as label -> value (columns are two or more spaces apart)."""
    rows = [re.split(r" {2,}", line, maxsplit=1) for line in text.splitlines()]
    return {row[0]: row[1] for row in rows if len(row) == 2}


def metrics(url: str) -> dict[str, float]:
    text = httpx.get(url, timeout=5).raise_for_status().text
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


def test_status_and_metrics_of_a_running_gateway(tmp_path: Path) -> None:
    cloud = CloudServer(tmp_path, f"sqlite:///{tmp_path / 'cloud.db'}").start()
    try:
        gateway = cloud.add_gateway(sources=["meter-1"])
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
            config.write_text(config.read_text() + HEALTH)
            with gateway_process(config) as process:
                process.wait_for(
                    lambda: (
                        (s := status_of(config)) is not None
                        and s["uplink"]["readings_sent_total"] >= 50
                        and s["uplink"]["send_rate"] > 0
                    ),
                    "a status with readings sent",
                )
                result = run_status(config)
                assert result.returncode == 0, result.stdout + result.stderr
                shown = table(result.stdout)
                assert re.fullmatch(r"\d+ readings \(\d+ queued in memory\)", shown["outbox depth"])
                assert (
                    re.fullmatch(r"\d+\.\ds", shown["oldest unsent"])
                    or shown["oldest unsent"] == "nothing waiting"
                ), shown
                assert re.fullmatch(r"\d+\.\d readings/s", shown["send rate"]), shown
                assert float(shown["send rate"].split()[0]) > 0, shown
                assert "ago" in shown["last success"], shown
                assert shown["last error"] == "none", shown
                assert shown["dropped"] == "0 readings", shown
                assert shown["device meter-1"].startswith("up"), shown
                status = status_of(config)
                assert status is not None
                seen = metrics(status["metrics_url"])
                assert seen["edgeward_uplink_sent_readings_total"] >= 50
                assert seen["edgeward_outbox_depth"] >= 0
                assert seen["edgeward_outbox_dropped_readings_total"] == 0
                assert seen["edgeward_outbox_moved_aside_total"] == 0
                assert seen["edgeward_uplink_failing"] == 0
                assert seen['edgeward_device_up{source="meter-1"}'] == 1
                assert seen["edgeward_admission_admitted_total"] >= 50
                assert 0 <= seen["edgeward_registry_age_seconds"] < 60
                assert (
                    abs(seen["edgeward_uplink_last_success_timestamp_seconds"] - time.time()) < 30
                )
                assert httpx.get(status["metrics_url"].replace("/metrics", "/x")).status_code == 404

                cloud.stop()  # now the uplink fails: both views say so
                process.wait_for(
                    lambda: (s := status_of(config)) is not None and s["uplink"]["failing"],
                    "the failure in the status",
                )
                result = run_status(config)
                assert table(result.stdout)["last error"].startswith("FAILING"), result.stdout
                seen = metrics(status["metrics_url"])
                assert seen["edgeward_uplink_failing"] == 1
                assert seen["edgeward_uplink_failures_total"] >= 1
                assert seen["edgeward_outbox_oldest_unsent_age_seconds"] >= 0
        keys = json.loads((config.parent / "data" / "outbox.keys").read_text())["keys"]
        log = (config.parent / "gateway.log").read_text()
        for entry in keys.values():
            assert entry["key"] not in log
            assert base64.b64decode(entry["key"]).hex() not in log
        assert gateway.credential not in log
    finally:
        cloud.stop()


def test_status_says_when_nothing_was_published_and_when_it_is_stale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    device = {"source": "meter-1", "unit": 1, "registers": METER_REGISTERS}
    gateway = RegisteredGateway("gw-0123456789ab", "ewg_not-used")
    config = write_gateway_config(tmp_path, "http://127.0.0.1:9", gateway, 502, [device])
    loaded = load_config(config)
    assert show_status(loaded, False) == EXIT_NO_STATUS
    assert "is the gateway running?" in capsys.readouterr().out

    an_hour_ago = now_us() - 3600 * 1_000_000
    status = {
        "gateway_id": gateway.id,
        "pid": 1,
        "updated_us": an_hour_ago,
        "metrics_url": None,
        "outbox": {
            "depth": 7,
            "queued": 0,
            "backlog_bytes": 700,
            "max_bytes": 1024,
            "full_policy": "drop_oldest",
            "full": False,
            "oldest_unsent_age_s": 3700.0,
            "dropped_total": 3,
            "rejected_total": 0,
            "moved_aside": ["outbox.db.corrupt-20261126T040000.000000Z"],
        },
        "uplink": {
            "send_rate": 0.0,
            "readings_sent_total": 0,
            "batches_sent_total": 0,
            "last_success_us": None,
            "last_error": "cloud unreachable",
            "last_error_us": an_hour_ago,
            "failing": True,
        },
        "devices": {},
    }
    (tmp_path / "gateway" / "data").mkdir(parents=True)
    (tmp_path / "gateway" / "data" / "status.json").write_text(json.dumps(status))
    assert show_status(loaded, False) == EXIT_STALE
    out = capsys.readouterr().out
    assert "STALE: last updated 60.0min ago" in out
    shown = table(out)
    assert shown["dropped"] == "3 readings"
    assert shown["oldest unsent"] == "2.0h"
    assert shown["moved aside"] == "outbox.db.corrupt-20261126T040000.000000Z"
    assert shown["last success"] == "never"
    assert shown["last error"].startswith("FAILING")
    assert shown["backlog"] == "700 B of 1.0 KiB (drop_oldest)"
