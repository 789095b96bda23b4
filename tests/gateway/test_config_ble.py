"""gateway.toml's [ble] section: a good one loads; mistakes name the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edgeward.gateway.config.loader import load_config
from edgeward.gateway.config.toml_writer import dump_toml, write_secret
from edgeward.gateway.errors import ConfigError


def ble_document(**device: Any) -> dict[str, Any]:
    characteristic = {
        "source": "env-t",
        "uuid": "2a6e",
        "fields": [{"name": "t", "offset": 0, "type": "int16", "scale": 0.01}],
    }
    return {
        "gateway": {"id": "gw-1", "data_dir": "data"},
        "cloud": {"url": "https://cloud.example", "credential_file": "credential"},
        "ble": {
            "devices": [
                {"address": "C0:FF:EE:00:00:01", "characteristics": [characteristic], **device}
            ]
        },
    }


def load(tmp_path: Path, document: dict[str, Any]) -> Any:
    write_secret(tmp_path / "credential", "ewg_x")
    (tmp_path / "gateway.toml").write_text(dump_toml(document))
    return load_config(tmp_path / "gateway.toml")


def test_a_ble_section_loads_with_decoders_per_characteristic(tmp_path: Path) -> None:
    config = load(tmp_path, ble_document())
    assert config.ble is not None
    (device,) = config.ble.devices
    assert device.match.address == "C0:FF:EE:00:00:01"
    assert config.ble.decoders["env-t"].decode((-1234).to_bytes(2, "little", signed=True)) == {
        "t": -12.34
    }
    assert config.source_count == 1


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"characteristics": []}, "ble.devices[0].characteristics"),
        (
            {"characteristics": [{"source": "x", "uuid": "2a6e", "fields": []}]},
            "ble.devices[0].characteristics[0].fields",
        ),
        (
            {
                "characteristics": [
                    {
                        "source": "x",
                        "uuid": "2a6e",
                        "mode": "listen",
                        "fields": [{"name": "t", "offset": 0, "type": "int16"}],
                    }
                ]
            },
            "ble.devices[0].characteristics[0].mode",
        ),
        (
            {
                "characteristics": [
                    {
                        "source": "x",
                        "uuid": "2a6e",
                        "fields": [{"name": "t", "offset": 0, "type": "int24"}],
                    }
                ]
            },
            "ble.devices[0].characteristics[0].fields[0].type",
        ),
        ({"colour": "blue"}, "ble.devices[0].colour"),
    ],
)
def test_mistakes_name_the_key(tmp_path: Path, change: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, ble_document(**change))
    assert caught.value.key == key and str(tmp_path / "gateway.toml") in str(caught.value)


def test_a_ble_source_may_not_repeat_another_transports(tmp_path: Path) -> None:
    document = ble_document()
    document["serial"] = [{"port": "/dev/ttyUSB0", "source": "env-t", "fields": [{"name": "a"}]}]
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, document)
    assert "env-t" in str(caught.value)
