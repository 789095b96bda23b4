"""Remote settings end to end: a real cloud, a real gateway process, real Modbus meters.

A change at the cloud reaches the running gateway and takes effect without a
new process; a version the gateway can't accept is refused (logged, reported,
an event) while the last good keeps running, also after a restart with the
cloud down; a tampered saved copy is never used; a key rotation asked by the
settings happens once, and readings sealed under the old key still drain.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from edgeward.cloud.storage.schema import gateway_settings
from edgeward.drivers.simulators.power_meters import METER_REGISTERS, PowerMeters
from edgeward.gateway.outbox.data_keys import Keyring
from edgeward.gateway.runtime.remote_settings import read_state
from edgeward.sync.clock import now_us
from tests.peers.cloud import CloudServer, RegisteredGateway
from tests.peers.gateway import (
    gateway_process,
    modbus_tcp_bus,
    outbox_sequences,
    outbox_state,
    write_gateway_config,
)
from tests.peers.http_gate import HttpGate
from tests.peers.modbus import ModbusServerThread
from tests.test_gateway_health import run_status, status_of, table

# Slow: several gateway restarts each.
pytestmark = pytest.mark.slow

MIB = 1024 * 1024
DEVICES = [{"source": "meter-1", "unit": 1, "poll_interval": 0.02, "registers": METER_REGISTERS}]


@contextmanager
def meters() -> Iterator[ModbusServerThread]:
    with ModbusServerThread([1]) as modbus:
        modbus.update(lambda server: PowerMeters(server).update(time.time()))
        yield modbus


def configure(
    root: Path, url: str, cloud: CloudServer, gateway: RegisteredGateway, port: int
) -> Path:
    with cloud.client() as client:
        key = client.get("/v1/registry/public-key").raise_for_status().json()["public_key"]
    tables = {
        "cloud": {"public_key": key},
        "remote": {"poll_interval": 0.2},
        "health": {"status_interval": 0.1},
    }
    # ``url`` may be a gate in front of the cloud: register the meters as admission checks them.
    cloud.bind_modbus(gateway.id, modbus_tcp_bus(port), DEVICES)
    return write_gateway_config(root, url, gateway, port, DEVICES, tables=tables)


def put_settings(cloud: CloudServer, gateway: RegisteredGateway, overlay: Any) -> int:
    with cloud.client(cloud.account.owner_token) as owner:
        response = owner.put(f"/v1/gateways/{gateway.id}/settings", json={"settings": overlay})
    return int(response.raise_for_status().json()["version"])


def cloud_view(cloud: CloudServer, gateway: RegisteredGateway, what: str = "settings") -> Any:
    with cloud.client(cloud.account.owner_token) as owner:
        return owner.get(f"/v1/gateways/{gateway.id}/{what}").raise_for_status().json()


def store_unchecked(cloud: CloudServer, gateway: RegisteredGateway, overlay: Any) -> int:
    """A version written past the cloud's validator: what a cloud newer than this
    gateway (with rules the gateway doesn't share) would hand out."""
    _, database = cloud._open_storage()
    table = gateway_settings.c
    with database.engine.begin() as connection:
        version = connection.execute(
            sa.select(table.version).where(table.gateway_id == gateway.id)
        ).scalar_one()
        connection.execute(
            gateway_settings.update()
            .where(table.gateway_id == gateway.id)
            .values(version=version + 1, settings=overlay, updated_us=now_us())
        )
    return int(version) + 1


def state(config: Path) -> dict[str, Any]:
    return read_state(config.parent / "data") or {}


def running(config: Path, pid: int, max_bytes: int) -> bool:
    """The gateway of ``pid`` publishes a status from a runtime with this outbox quota."""
    status = status_of(config)
    return (
        status is not None and status["pid"] == pid and status["outbox"]["max_bytes"] == max_bytes
    )


def test_settings_reach_the_running_gateway_and_a_bad_version_is_refused(tmp_path: Path) -> None:
    cloud = CloudServer(tmp_path, f"sqlite:///{tmp_path / 'cloud.db'}").start()
    gateway = cloud.add_gateway(sources=["meter-1"])
    token = cloud.token_with("readings:GET")
    try:
        with meters() as modbus:
            config = configure(tmp_path, cloud.url, cloud, gateway, modbus.port)
            log = config.parent / "gateway.log"
            with gateway_process(config) as process:
                process.wait_for(lambda: running(config, process.pid, 512 * MIB), "first status")
                assert put_settings(cloud, gateway, {"outbox": {"max_bytes": 2 * MIB}}) == 1
                process.wait_for(
                    lambda: running(config, process.pid, 2 * MIB), "version 1 in the same process"
                )
                assert state(config)["applied_version"] == 1
                rows = table(run_status(config).stdout)
                assert rows["settings"].startswith("version 1 applied"), rows
                process.wait_for(
                    lambda: cloud_view(cloud, gateway)["applied_version"] == 1, "applied at cloud"
                )
                assert "settings version 1 replaces version 0" in log.read_text()
                saved = config.parent / "data" / "settings.json"
                assert saved.stat().st_mode & 0o777 == 0o600

                bad = store_unchecked(cloud, gateway, {"uplink": {"batch_max_readings": 0}})
                process.wait_for(lambda: state(config).get("refused_version") == bad, "the refusal")
                expected = "uplink.batch_max_readings: expected an integer from 1 to 10000, found 0"
                assert expected in state(config)["refused_error"]
                assert f"with cloud settings version {bad}" in state(config)["refused_error"]
                assert state(config)["applied_version"] == 1
                process.wait_for(
                    lambda: cloud_view(cloud, gateway)["refused_version"] == bad, "reported"
                )
                process.wait_for(
                    lambda: any(
                        event["kind"] == "settings_refused"
                        for event in cloud_view(cloud, gateway, "events")["items"]
                    ),
                    "a settings_refused gateway event at the cloud",
                )
                sent = len(cloud.all_readings(token, "meter-1"))
                process.wait_for(
                    lambda: len(cloud.all_readings(token, "meter-1")) > sent + 20,
                    "readings still flowing under the last good settings",
                )
                assert running(config, process.pid, 2 * MIB)
                assert "refused, version 1 keeps running" in log.read_text()
            cloud.stop()

            # Restarted with the cloud down: the last good settings, from disk.
            with gateway_process(config, "offline.log") as process:
                process.wait_for(lambda: running(config, process.pid, 2 * MIB), "v1 offline")
                process.wait_for(
                    lambda: "settings pull failing" in (config.parent / "offline.log").read_text(),
                    "the pull failing",
                )

            # A saved copy changed on disk no longer verifies: gateway.toml alone runs.
            document = json.loads(saved.read_text())
            document["body"] = document["body"].replace(str(2 * MIB), str(3 * MIB))
            saved.write_text(json.dumps(document))
            with gateway_process(config, "tampered.log") as process:
                process.wait_for(lambda: running(config, process.pid, 512 * MIB), "gateway.toml")
            assert "ignoring the saved document" in (config.parent / "tampered.log").read_text()
            assert state(config)["applied_version"] == 0
        assert gateway.credential not in log.read_text()
    finally:
        cloud.stop()


def waiting_keys(config: Path) -> Counter[int]:
    """How many readings wait in the running gateway's outbox, per data key id."""
    database = config.parent / "data" / "outbox.db"
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
            return Counter(dict(db.execute("SELECT key_id, count(*) FROM readings GROUP BY 1")))
    except sqlite3.OperationalError:
        return Counter()


def test_a_key_rotation_asked_by_settings_happens_once_and_old_rows_drain(
    tmp_path: Path,
) -> None:
    cloud = CloudServer(tmp_path, f"sqlite:///{tmp_path / 'cloud.db'}").start()
    gateway = cloud.add_gateway(sources=["meter-1"])
    token = cloud.token_with("readings:GET")
    keys = tmp_path / "gateway" / "data" / "outbox.keys"
    try:
        with meters() as modbus, HttpGate(cloud.url) as gate:
            config = configure(tmp_path, gate.url, cloud, gateway, modbus.port)
            with gateway_process(config) as process:
                process.wait_for(lambda: len(cloud.all_readings(token, "meter-1")) > 0, "data")
                gate.closed.add("/v1/ingest/batches")  # settings pass, readings wait
                process.wait_for(lambda: waiting_keys(config)[1] >= 50, "a backlog under key 1")
                put_settings(cloud, gateway, {"outbox": {"rotate_key_serial": 1}})
                process.wait_for(lambda: waiting_keys(config)[2] >= 20, "new rows under key 2")
                assert waiting_keys(config)[1] >= 50, "the old rows wait beside the new ones"
                assert Keyring.load_or_create(keys).current.key_id == 2
                assert state(config)["rotated_serial"] == 1
                # Another change keeps serial 1: no second rotation.
                put_settings(
                    cloud,
                    gateway,
                    {"outbox": {"rotate_key_serial": 1}, "uplink": {"batch_max_readings": 100}},
                )
                process.wait_for(lambda: state(config)["applied_version"] == 2, "version 2")
                assert Keyring.load_or_create(keys).current.key_id == 2
                pulls = [a for a in gate.answers if a[:2] == ("GET", "/v1/registry/settings")]
                assert ("GET", "/v1/registry/settings", 304) in pulls, "unchanged: 304"
                assert sum(1 for _, _, status in pulls if status == 200) <= 4
                gate.closed.clear()
                process.wait_for(lambda: sum(waiting_keys(config).values()) < 10, "the drain")
        _, waiting = outbox_state(config)
        assert waiting == 0
        seqs = Counter(r["seq"] for r in cloud.all_readings(token, "meter-1"))
        assert seqs == Counter(outbox_sequences(config)), "every reading once, old key or new"
    finally:
        cloud.stop()
