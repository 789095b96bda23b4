"""A standard BLE sensor read end to end by its UUIDs alone: a bumble GATT peripheral,
unmodified bleak in the gateway program on a private D-Bus with our BlueZ stand-in,
the built-in environmental sensor type, the real cloud, and GET /v1/readings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edgeward.drivers.simulators.ble_peripheral import HUMIDITY, TEMPERATURE
from edgeward.gateway.config.toml_writer import dump_toml, write_secret
from tests.peers.bluez.world import BleWorld
from tests.peers.cloud import CloudServer, RegisteredGateway
from tests.peers.gateway import gateway_process

ADDRESS = "C0:00:00:00:00:2A"


def write_config(directory: Path, cloud: CloudServer, gateway: RegisteredGateway) -> Path:
    write_secret(directory / "credential", gateway.credential)
    document: dict[str, Any] = {
        "gateway": {"id": gateway.id, "data_dir": "data"},
        "cloud": {"url": cloud.url, "credential_file": "credential"},
        "uplink": {"idle_interval": 0.05, "backoff_max": 1.0},
        "ble": {
            "scan_timeout": 0.5,
            "timeout": 3.0,
            "backoff_initial": 0.05,
            "backoff_max": 0.2,
            # Only where it is and how often to read: the type lists the characteristics.
            "devices": [{"address": ADDRESS, "source": "env-1", "poll_interval": 0.1}],
        },
    }
    path = directory / "gateway.toml"
    path.write_text(dump_toml(document))
    return path


def test_a_standard_sensor_is_decoded_by_its_uuids_alone(
    tmp_path: Path, sqlite_cloud: CloudServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway = sqlite_cloud.add_gateway()
    owner = sqlite_cloud.account.owner_token
    sqlite_cloud.register_source(
        owner, "env-1", gateway.id, {"address": ADDRESS}, "builtin:ble-environmental-sensor"
    )
    token = sqlite_cloud.token_with("readings:GET")

    def stored() -> list[dict[str, Any]]:
        return [r["values"] for r in sqlite_cloud.all_readings(token, "env-1")]

    (tmp_path / "ble").mkdir()
    with BleWorld(tmp_path / "ble") as world:
        sensor = world.add_sensor(
            ADDRESS, "env", temperature=-5.25, humidity=40.25, pressure=98765.4, battery_level=87
        )
        config = write_config(tmp_path / "gateway", sqlite_cloud, gateway)
        # bleak in the gateway program finds the private bus through its environment.
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", world.bus_address)
        with gateway_process(config) as process:
            process.wait_for(
                lambda: {"pressure": 98765.4} in stored() and {"battery_level": 87} in stored(),
                "the read characteristics (pressure, battery) in the cloud",
            )
            # Subscribed by now (the reads came after): notifications reach the cloud.
            world.run(lambda: sensor.set(TEMPERATURE, -12.34))
            world.run(lambda: sensor.set(HUMIDITY, 55.12))
            process.wait_for(
                lambda: {"temperature": -12.34} in stored() and {"humidity": 55.12} in stored(),
                "a notified -12.34 °C and 55.12 % in the cloud",
            )
        assert process.process is not None and process.process.returncode == 0
    for values in stored():
        assert len(values) == 1, "each characteristic's value is a reading of the one source"
