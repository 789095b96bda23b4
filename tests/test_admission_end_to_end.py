"""Admission with real peers: the gateway program, the cloud program, a pymodbus server,
mosquitto, a webhook receiver. Only registered, active, proven sources get into the
cloud; every refusal becomes a security event at the cloud and at its webhook, and a
flood of them costs a bounded number of rows.

Runs on SQLite and on PostgreSQL cloud stores (the ``cloud`` fixture is parametrized).
"""

from __future__ import annotations

import base64
import json
import secrets
import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from edgeward.cloud.webhooks.signing import HEADER, verify
from edgeward.drivers.simulators.power_meters import METER_REGISTERS, PowerMeters
from edgeward.gateway.config.toml_writer import dump_toml, write_secret
from edgeward.sync import reports
from tests.peers import wait_until
from tests.peers.cloud import CloudServer, RegisteredGateway
from tests.peers.gateway import gateway_process, modbus_tcp_bus, write_gateway_config
from tests.peers.modbus import ModbusServerThread
from tests.peers.mosquitto import PASSWORD, USERNAME, Mosquitto, publish, publisher
from tests.peers.webhook_receiver import WebhookReceiver
from tests.test_gateway_health import run_status, table

FAST = (
    "\n[admission]\nregistry_interval = 0.5\nreport_interval = 0.2\n"
    "\n[health]\nstatus_interval = 0.1\n"
)
FLOOD = 10_000
CHUNK = 500


def meter(source: str, unit: int) -> dict[str, Any]:
    return {"source": source, "unit": unit, "poll_interval": 0.1, "registers": METER_REGISTERS}


def status(config: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((config.parent / "data" / "status.json").read_text()))
    except (OSError, ValueError):
        return {}


def refused(config: Path, reason: str) -> int:
    admission = status(config).get("admission") or {}
    return int(admission.get("refused_since_start", {}).get(reason, 0))


def security_events(cloud: CloudServer, source: str) -> list[dict[str, Any]]:
    token = cloud.token_with("security-events:GET")
    with cloud.client(token) as client:
        page = client.get("/v1/security-events", params={"source": source, "limit": 1000})
    return list(page.raise_for_status().json()["items"])


def from_gateway(cloud: CloudServer, source: str, reason: str) -> list[dict[str, Any]]:
    return [
        event
        for event in security_events(cloud, source)
        if event["reason"] == reason and event["reported_by"] == "gateway"
    ]


def modbus_config(
    tmp_path: Path, cloud: CloudServer, gateway: RegisteredGateway, port: int, devices: list[Any]
) -> Path:
    """gateway.toml reading ``devices``, none of them registered by this helper."""
    config = write_gateway_config(tmp_path, cloud.url, gateway, port, devices)
    config.write_text(config.read_text() + FAST)
    return config


def test_a_registered_meter_passes_a_mis_bound_one_is_flagged_an_unknown_one_waits(
    tmp_path: Path, cloud: CloudServer
) -> None:
    gateway = cloud.add_gateway(name="site-a")
    token = cloud.token_with("readings:GET")
    with WebhookReceiver() as receiver, ModbusServerThread([1, 9]) as modbus:
        with cloud.client(cloud.account.owner_token) as owner:
            webhook = owner.post("/v1/webhooks", json={"url": receiver.url}).json()
        modbus.update(lambda server: PowerMeters(server).update(time.time()))
        # meter-1 is registered where it sits; meter-9 is registered at unit 2 but
        # gateway.toml reads it at unit 9; meter-7 is not registered at all.
        bus = modbus_tcp_bus(modbus.port)
        cloud.bind_modbus(gateway.id, bus, [meter("meter-1", 1), meter("meter-9", 2)])
        devices = [meter("meter-1", 1), meter("meter-9", 9), meter("meter-7", 9)]
        config = modbus_config(tmp_path, cloud, gateway, modbus.port, devices)
        with gateway_process(config) as process:
            process.wait_for(
                lambda: len(cloud.all_readings(token, "meter-1")) >= 3, "meter-1 in the cloud"
            )
            process.wait_for(
                lambda: from_gateway(cloud, "meter-9", "wrong-binding"),
                "the gateway's security event for meter-9 in the cloud",
            )
            wait_until(
                lambda: any(b'"meter-9"' in call.body for call in receiver.received),
                "the security event at the account's webhook",
            )
            shown = table(run_status(config).stdout)
            devices_shown = status(config)["devices"]
    assert shown["registry"].endswith("(2 sources)") and shown["registry pull"] == "ok"
    assert "wrong-binding" in shown["refused"]
    assert cloud.all_readings(token, "meter-9") == [], "a refused reading is never stored"
    with cloud.client(token) as client:
        # Never registered: named as unknown, and nothing of it in the account's readings.
        assert client.get("/v1/readings", params={"source": "meter-7"}).status_code == 404
        everything = client.get("/v1/readings", params={"limit": 1000}).json()["items"]
    assert "meter-7" not in {reading["source"] for reading in everything}
    assert "not in the registry" in devices_shown["meter-7"]["detail"], devices_shown["meter-7"]
    events = from_gateway(cloud, "meter-9", "wrong-binding")
    assert {e["gateway_id"] for e in events} == {gateway.id} and events[0]["count"] >= 1
    assert len(events) <= 2, "one row per one-minute window (the test may span two)"
    assert from_gateway(cloud, "meter-7", "unknown-source") == [], "meter-7 is never read"
    call = next(call for call in receiver.received if b'"meter-9"' in call.body)
    assert verify(call.headers[HEADER], bytes.fromhex(webhook["secret"]), call.body)
    delivered = json.loads(call.body)
    assert (delivered["reason"], delivered["reported_by"], delivered["gateway_id"]) == (
        "wrong-binding",
        "gateway",
        gateway.id,
    )
    log = (config.parent / "gateway.log").read_text()
    assert log.count("meter-7 is not read: waiting for its data-source type") == 1
    assert log.count("refused a reading of meter-9") == 1, "logged once, counted always"


def test_a_source_disabled_at_the_cloud_is_refused_after_the_next_pull(
    tmp_path: Path, cloud: CloudServer
) -> None:
    gateway = cloud.add_gateway(name="site-b")
    token = cloud.token_with("readings:GET")
    with ModbusServerThread([1]) as modbus:
        modbus.update(lambda server: PowerMeters(server).update(time.time()))
        devices = [meter("meter-1", 1)]
        cloud.bind_modbus(gateway.id, modbus_tcp_bus(modbus.port), devices)
        config = modbus_config(tmp_path, cloud, gateway, modbus.port, devices)
        with gateway_process(config) as process:
            process.wait_for(lambda: len(cloud.all_readings(token, "meter-1")) >= 2, "readings")
            with cloud.client(cloud.account.owner_token) as owner:
                (source,) = [
                    s
                    for s in owner.get("/v1/data-sources").json()["items"]
                    if s["name"] == "meter-1" and s["gateway_id"] == gateway.id
                ]
                owner.put(f"/v1/data-sources/{source['id']}", json={"enabled": False})
            process.wait_for(lambda: refused(config, "disabled-source") >= 3, "refusals")
            process.wait_for(lambda: drained(config), "the outbox drained")
            stored = len(cloud.all_readings(token, "meter-1"))
            later = refused(config, "disabled-source") + 5
            process.wait_for(lambda: refused(config, "disabled-source") >= later, "more refusals")
            process.wait_for(lambda: drained(config), "the outbox drained again")
            assert len(cloud.all_readings(token, "meter-1")) == stored, "nothing more got in"
            process.wait_for(
                lambda: from_gateway(cloud, "meter-1", "disabled-source"), "the security event"
            )


def drained(config: Path) -> bool:
    outbox = status(config).get("outbox") or {}
    return outbox.get("depth") == 0 and outbox.get("queued") == 0


def mqtt_config(
    tmp_path: Path, cloud_url: str, gateway: RegisteredGateway, mosquitto: Mosquitto, **topics: str
) -> Path:
    directory = tmp_path / "gateway"
    write_secret(directory / "credential", gateway.credential)
    write_secret(directory / "mqtt-password", PASSWORD)
    assert mosquitto.certificates is not None
    document = {
        "gateway": {"id": gateway.id, "data_dir": "data"},
        "cloud": {"url": cloud_url, "credential_file": "credential"},
        "uplink": {"idle_interval": 0.05, "backoff_max": 1.0},
        "mqtt": [
            {
                "host": "127.0.0.1",
                "port": mosquitto.port,
                "username": USERNAME,
                "password_file": "mqtt-password",
                "tls": {"ca_file": str(mosquitto.certificates.ca_file)},
                "subscriptions": [
                    {"source": source, "topic": topic} for source, topic in topics.items()
                ],
            }
        ],
    }
    path = directory / "gateway.toml"
    path.write_text(dump_toml(document) + FAST)
    return path


def connected(config: Path, source: str) -> bool:
    device = (status(config).get("devices") or {}).get(source) or {}
    registry = (status(config).get("admission") or {}).get("registry") or {}
    return bool(device.get("available")) and registry.get("sources") is not None


def hmac_probe(cloud: CloudServer, gateway: RegisteredGateway) -> bytes:
    """probe-h, an MQTT source signing with HMAC-SHA256; returns its key (shown once)."""
    owner = cloud.account.owner_token
    spec = {
        "transport": "mqtt",
        "auth_mode": "hmac",
        "decoder": {"format": "json", "fields": [{"name": "temperature", "path": "t"}]},
        "fields": {"temperature": {"unit": "C", "min": -40, "max": 85}},
    }
    type_id = cloud.create_type(owner, "signed probe", spec)
    created = cloud.register_source(
        owner, "probe-h", gateway.id, {"topic": "site/probe-h"}, type_id
    )
    return base64.b64decode(created["key"])


@pytest.mark.slow
def test_a_bad_hmac_and_a_replay_are_refused_across_a_restart(
    tmp_path: Path, cloud: CloudServer
) -> None:
    gateway = cloud.add_gateway(name="site-c")
    key = hmac_probe(cloud, gateway)
    token = cloud.token_with("readings:GET")

    def report(temperature: float, counter: int, signing_key: bytes = key) -> bytes:
        payload = json.dumps({"t": temperature}).encode()
        return reports.sign_hmac(payload, "probe-h", counter, signing_key)

    def stored() -> list[float]:
        return [r["values"]["temperature"] for r in cloud.all_readings(token, "probe-h")]

    first = report(21.5, 1)
    with Mosquitto(tmp_path / "mqtt") as mosquitto, publisher(mosquitto) as client:
        config = mqtt_config(tmp_path, cloud.url, gateway, mosquitto, **{"probe-h": "site/probe-h"})
        with gateway_process(config) as process:
            process.wait_for(lambda: connected(config, "probe-h"), "subscribed, registry in force")
            publish(client, "site/probe-h", first)
            process.wait_for(lambda: stored() == [21.5], "the signed report in the cloud")
            publish(client, "site/probe-h", report(99.0, 2, secrets.token_bytes(32)))
            process.wait_for(lambda: refused(config, "bad-signature") == 1, "bad HMAC refused")
            publish(client, "site/probe-h", first)
            process.wait_for(lambda: refused(config, "replay") == 1, "the replay refused")
            publish(client, "site/probe-h", report(22.0, 3))
            process.wait_for(lambda: stored() == [21.5, 22.0], "the device still gets in")
        # A restart must not reopen the replays the counters closed.
        (config.parent / "data" / "status.json").unlink()  # wait for the new process's
        with gateway_process(config, "gateway-2.log") as process:
            process.wait_for(lambda: connected(config, "probe-h"), "subscribed again")
            publish(client, "site/probe-h", report(22.0, 3))
            process.wait_for(lambda: refused(config, "replay") == 1, "replay after restart")
            process.wait_for(
                lambda: (
                    from_gateway(cloud, "probe-h", "replay")
                    and from_gateway(cloud, "probe-h", "bad-signature")
                ),
                "both refusals as security events in the cloud",
            )
    assert stored() == [21.5, 22.0]


@pytest.mark.slow
def test_ten_thousand_rogue_reports_cost_a_bounded_number_of_rows(
    tmp_path: Path, cloud: CloudServer
) -> None:
    gateway = cloud.add_gateway(name="site-d")  # nothing registered: rogue-1 is nobody's
    started = time.time()
    with Mosquitto(tmp_path / "mqtt") as mosquitto, publisher(mosquitto) as client:
        config = mqtt_config(tmp_path, cloud.url, gateway, mosquitto, **{"rogue-1": "site/rogue"})
        with gateway_process(config) as process:
            process.wait_for(lambda: connected(config, "rogue-1"), "subscribed, registry in force")
            for sent in range(CHUNK, FLOOD + 1, CHUNK):
                for n in range(CHUNK):
                    client.publish("site/rogue", b'{"t": %d}' % n, qos=1)
                process.wait_for(
                    lambda sent=sent: refused(config, "unknown-source") == sent, f"{sent}"
                )
            process.wait_for(
                lambda: (
                    sum(e["count"] for e in from_gateway(cloud, "rogue-1", "unknown-source"))
                    == FLOOD
                ),
                "every refusal counted at the cloud",
            )
    windows = int(time.time() // 60 - started // 60) + 1
    cloud_rows = from_gateway(cloud, "rogue-1", "unknown-source")
    assert 1 <= len(cloud_rows) <= windows, "one row per window, not one per report"
    database = config.parent / "data" / "admission.db"
    with closing(sqlite3.connect(database)) as db:
        (rows,) = db.execute("SELECT count(*) FROM security_events").fetchone()
    assert 1 <= rows <= windows
