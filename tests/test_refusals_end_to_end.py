"""Refusals say why, with real peers: the serial sensor simulator behind a socat pty, the
gateway program, the cloud program.

The source's registered type cannot decode what the sensor sends (it splits
frames at "." where the sensor writes ``counter,temperature,humidity``), so
every reading is refused. The device must show as waiting for data before its
first frame, then as REFUSED naming the field and its value in `edgeward
gateway status`; the cloud's security event must carry the same field and
value; the journal must say it once, not once per frame.

Runs on SQLite and on PostgreSQL cloud stores (the ``cloud`` fixture is parametrized).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from edgeward.gateway.config.toml_writer import dump_toml, write_secret
from tests.peers.cloud import CloudServer, RegisteredGateway
from tests.peers.gateway import gateway_process
from tests.peers.serial_sensor import serial_sensor
from tests.peers.socat import PtyPair
from tests.test_admission_end_to_end import FAST, from_gateway, status
from tests.test_gateway_health import run_status, table

SOURCE = "probe-1"
# A type written for another sensor: "." separates its fields.
WRONG_SHAPE = {
    "transport": "serial",
    "auth_mode": "bound",
    "decoder": {
        "fields": [
            {"name": "counter", "type": "integer"},
            {"name": "temperature"},
            {"name": "humidity"},
        ],
        "separator": ".",
    },
}


def serial_config(
    tmp_path: Path, cloud: CloudServer, gateway: RegisteredGateway, port: Path
) -> Path:
    directory = tmp_path / "gateway"
    write_secret(directory / "credential", gateway.credential)
    document: dict[str, Any] = {
        "gateway": {"id": gateway.id, "data_dir": "data"},
        "cloud": {"url": cloud.url, "credential_file": "credential"},
        "uplink": {"idle_interval": 0.05, "backoff_max": 1.0},
        "serial": [{"port": str(port), "source": SOURCE}],
    }
    path = directory / "gateway.toml"
    path.write_text(dump_toml(document) + FAST)
    return path


def device(config: Path) -> dict[str, Any]:
    """probe-1 in status.json, once the registry is in force (else nothing)."""
    snapshot = status(config)
    registry = (snapshot.get("admission") or {}).get("registry") or {}
    if registry.get("sources") is None:
        return {}
    return dict((snapshot.get("devices") or {}).get(SOURCE) or {})


def test_a_device_whose_type_cannot_decode_it_shows_refused_with_the_field(
    tmp_path: Path, cloud: CloudServer
) -> None:
    gateway = cloud.add_gateway(name="site-r")
    owner = cloud.account.owner_token
    type_id = cloud.create_type(owner, "another sensor", WRONG_SHAPE)
    token = cloud.token_with("readings:GET")
    with PtyPair(tmp_path, ("ser-gw", "ser-sensor")) as pair:
        cloud.register_source(owner, SOURCE, gateway.id, {"port": str(pair.device_end)}, type_id)
        config = serial_config(tmp_path, cloud, gateway, pair.device_end)
        with gateway_process(config) as process:
            process.wait_for(
                lambda: device(config).get("state") == "waiting", "the port open, nothing yet"
            )
            waiting = run_status(config)
            with serial_sensor(pair.peer_end, tmp_path, "--interval", "0.05"):
                process.wait_for(
                    lambda: (
                        device(config).get("state") == "refused" and device(config)["refused"] >= 3
                    ),
                    "three readings refused in a row",
                )
                refused = run_status(config)
                process.wait_for(
                    lambda: any(e["field"] for e in from_gateway(cloud, SOURCE, "undecodable")),
                    "the security event, with its field, in the cloud",
                )
    assert waiting.returncode == 0, waiting.stdout + waiting.stderr
    assert table(waiting.stdout)[f"device {SOURCE}"] == "waiting for data"
    shown = table(refused.stdout)[f"device {SOURCE}"]
    assert re.fullmatch(
        r"REFUSED: undecodable: field counter = '\d+,\d\d' \(\d+ in a row; \d+ reads\)", shown
    ), shown
    assert "undecodable" in table(refused.stdout)["refused"]

    (event,) = [e for e in from_gateway(cloud, SOURCE, "undecodable") if e["field"]][:1]
    assert event["field"] == "counter" and event["gateway_id"] == gateway.id
    assert re.fullmatch(r"'\d+,\d\d'", event["value"]), event
    assert event["detail"] == "field 'counter': not an integer", event
    assert cloud.all_readings(token, SOURCE) == [], "a refused reading is never stored"

    log = (config.parent / "gateway.log").read_text()
    assert log.count(f"refused a reading of {SOURCE}") == 1, "once, not once per frame"
    assert "undecodable: field counter = '" in log
