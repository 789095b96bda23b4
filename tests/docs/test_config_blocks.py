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
    # The gateway example's endpoint and the `devices add --section` example's.
    assert [len(c.devices) for c in config.modbus_tcp] == [1, 1]
    assert [len(c.devices) for c in config.modbus_rtu] == [1]
    assert [c.source for c in config.serial] == ["probe-1"]
    assert [len(c.subscriptions) for c in config.mqtt] == [1]
    assert config.ble is not None
    assert sorted(source for _, source in config.ble.sources) == [
        "env-1-humidity",
        "env-1-temperature",
    ]
    assert config.unused_decoder_keys == [], "the docs show no deprecated decoder keys"
    assert (config.admission.registry_interval, config.admission.report_interval) == (60.0, 5.0)
