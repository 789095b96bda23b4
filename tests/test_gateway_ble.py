"""The gateway program reading a BLE sensor through unmodified bleak: gateway.toml's
[ble] section, the real D-Bus (a private bus with our BlueZ stand-in) and a bumble
GATT peripheral, into the outbox decoded by the configured binary layouts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edgeward.drivers.simulators.ble_peripheral import HUMIDITY, TEMPERATURE
from edgeward.gateway.config.toml_writer import dump_toml, write_secret
from tests.peers.bluez.world import BleWorld
from tests.peers.gateway import gateway_process, read_outbox
from tests.peers.registry import bound_source, write_signed_registry

ADDRESS = "C0:00:00:00:00:2A"


def write_config(directory: Path) -> Path:
    write_secret(directory / "credential", "ewg_" + "0" * 36)
    document: dict[str, Any] = {
        "gateway": {"id": "gw-ble", "data_dir": "data"},
        # Nobody listens here: readings stay in the outbox, where the test reads them.
        "cloud": {"url": "http://127.0.0.1:9", "credential_file": "credential"},
        "ble": {
            "scan_timeout": 0.5,
            "timeout": 3.0,
            "backoff_initial": 0.05,
            "backoff_max": 0.2,
            "devices": [
                {
                    "address": ADDRESS,
                    "characteristics": [
                        {
                            "source": "env-temperature",
                            "uuid": TEMPERATURE,
                            "mode": "notify",
                            "fields": [
                                {"name": "temperature", "offset": 0, "type": "int16", "scale": 0.01}
                            ],
                        },
                        {
                            "source": "env-humidity",
                            "uuid": HUMIDITY,
                            "mode": "poll",
                            "poll_interval": 0.1,
                            "fields": [
                                {"name": "humidity", "offset": 0, "type": "uint16", "scale": 0.01}
                            ],
                        },
                    ],
                }
            ],
        },
    }
    path = directory / "gateway.toml"
    path.write_text(dump_toml(document))
    write_signed_registry(
        directory / "data",
        "gw-ble",
        [
            ble_source("env-temperature", TEMPERATURE, "temperature", "int16"),
            ble_source("env-humidity", HUMIDITY, "humidity", "uint16"),
        ],
    )
    return path


def ble_source(name: str, uuid: str, field: str, value_type: str) -> dict[str, Any]:
    """A registered characteristic: its layout is what decodes the readings."""
    layout = [{"name": field, "offset": 0, "type": value_type, "scale": 0.01}]
    decoder = {"characteristics": [{"uuid": uuid, "layout": layout}]}
    return bound_source(name, "ble", decoder, {"address": ADDRESS})


def values_of(config: Path, source: str) -> list[dict[str, Any]]:
    return [values for name, values in read_outbox(config) if name == source]


def test_ble_readings_reach_the_outbox_decoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ble").mkdir()
    with BleWorld(tmp_path / "ble") as world:
        sensor = world.add_sensor(ADDRESS, "env", temperature=21.5, humidity=40.25)
        config = write_config(tmp_path / "gateway")
        # bleak in the gateway program finds the private bus through its environment.
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", world.bus_address)
        with gateway_process(config) as gateway:
            gateway.wait_for(
                lambda: {"humidity": 40.25} in values_of(config, "env-humidity"),
                "a polled humidity of 40.25 in the outbox",
            )
            world.run(lambda: sensor.set_temperature(-12.34))
            gateway.wait_for(
                lambda: {"temperature": -12.34} in values_of(config, "env-temperature"),
                "a notified temperature of -12.34 in the outbox",
            )
    assert gateway.process is not None and gateway.process.returncode == 0
