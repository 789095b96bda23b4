"""What the demo wires for its serial and MQTT sensors, without starting them."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeward.demo import devices as demo_devices
from edgeward.demo.devices import mqtt_device, serial_device, start_devices
from edgeward.demo.run import METER_UNITS, gateway_document
from edgeward.gateway.config.loader import load_config
from edgeward.gateway.config.toml_writer import dump_toml, write_secret
from edgeward.harness.processes import ChildProcess
from edgeward.sync.source_types.checks import validate_type_spec


def test_missing_peers_are_named_with_their_debian_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_devices, "find_program", lambda name: None)
    children: list[ChildProcess] = []
    devices, left_out = start_devices(tmp_path, children)
    assert devices == [] and children == []
    text = "\n".join(left_out)
    assert "Debian package: socat" in text and "Debian package: mosquitto" in text
    assert "BLE left out" in text and "real adapter" in text


def test_device_types_and_gateway_sections_are_valid(tmp_path: Path) -> None:
    devices = [serial_device(tmp_path / "tty-gateway"), mqtt_device(18830)]
    for device in devices:
        validate_type_spec(device.type_spec)
    gateway_dir = tmp_path / "gateway"
    write_secret(gateway_dir / "credential", "gwc-demo")
    config_path = gateway_dir / "gateway.toml"
    document = gateway_document(
        "gw-demo", "http://127.0.0.1:1", gateway_dir / "data", 1502, 1.0, devices
    )
    config_path.write_text(dump_toml(document))
    config = load_config(config_path)
    assert [port.source for port in config.serial] == ["probe-1"]
    assert [s.topic for s in config.mqtt[0].subscriptions] == ["demo/room1"]
    # The meters' section binds units only: their type comes from the registry.
    (meters,) = config.modbus_tcp
    assert [(d.source, d.unit) for d in meters.devices] == [
        (f"meter-{unit}", unit) for unit in METER_UNITS
    ]
