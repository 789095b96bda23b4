"""The gateway.toml examples in the README and docs/ load: the documentation can't
drift from the parser."""

from __future__ import annotations

from pathlib import Path

from edgeward.gateway.config.loader import load_config
from edgeward.gateway.config.toml_writer import write_secret
from tests.docs.pages import blocks


def test_toml_examples_together_are_one_valid_gateway_toml(tmp_path: Path) -> None:
    examples = blocks("toml")
    assert len(examples) >= 7, "the gateway, Modbus RTU, serial, MQTT, BLE, admission, --section"
    path = tmp_path / "gateway.toml"
    path.write_text("\n".join(block.text for block in examples))
    write_secret(tmp_path / "credential", "ewg_example")
    write_secret(tmp_path / "mqtt-password", "example")
    (tmp_path / "mqtt-ca.pem").write_text("example\n")
    config = load_config(path)
    # The `devices add` example's endpoint (installers/ sorts first) and the gateway example's.
    assert [c.bus for c in config.modbus_tcp] == [
        "modbus-tcp://10.0.0.5:502",
        "modbus-tcp://192.168.1.50:502",
    ]
    assert [[(d.source, d.unit) for d in c.devices] for c in config.modbus_tcp] == [
        [("meter-9", 9)],
        [("meter-1", 1)],
    ]
    assert [(c.bus, [d.source for d in c.devices]) for c in config.modbus_rtu] == [
        ("modbus-rtu:///dev/ttyUSB0", ["pump-1"])
    ]
    (serial,) = config.serial
    assert (serial.source, serial.poll_interval, serial.timeout, serial.stale_after) == (
        "gps-1",
        5.0,
        0.5,
        10.0,
    )
    assert [[s.source for s in c.subscriptions] for c in config.mqtt] == [["room-1"]]
    assert config.ble is not None
    assert [(d.match.address, d.source, d.poll_interval) for d in config.ble.devices] == [
        ("C0:FF:EE:00:00:01", "env-1", 30.0)
    ]
    assert (config.admission.registry_interval, config.admission.report_interval) == (60.0, 5.0)


def test_no_toml_example_describes_a_device_inline() -> None:
    """Keys the type holds now would be refused: the docs must not teach them."""
    moved = ("registers", "framing", "fields", "characteristics", "request", "separator")
    for block in blocks("toml"):
        for line in block.text.splitlines():
            key = line.split("=", 1)[0].strip().strip("[]").rsplit(".", 1)[-1]
            assert key not in moved, f"{block.where()}: {line.strip()}"
