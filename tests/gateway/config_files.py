"""gateway.toml files for tests: a valid document that binds sources only, and
helpers to write one and to check that a mistake names its key.

Device sections bind a source to where it is; its data-source type (from the
registry) says what to read, so nothing here describes registers.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from edgeward.gateway.config.loader import load_config
from edgeward.gateway.config.toml_writer import dump_toml, write_secret
from edgeward.gateway.errors import ConfigError

CREDENTIAL = "ewg_test_credential_0123456789"


def valid_document() -> dict[str, Any]:
    return {
        "gateway": {"id": "gw-1a2b3c4d5e6f", "data_dir": "data"},
        "cloud": {"url": "https://cloud.example", "credential_file": "secrets/credential"},
        "uplink": {
            "batch_max_readings": 250,
            "idle_interval": 0.5,
            "timeout": 3.0,
            "backoff_max": 30.0,
        },
        "outbox": {"synchronous": "normal"},
        "modbus_tcp": [
            {
                "host": "192.168.1.50",
                "port": 5020,
                "timeout": 1.5,
                "devices": [
                    {"source": "meter-1", "unit": 1, "poll_interval": 0.25},
                    {"source": "meter-2", "unit": 2},
                ],
            },
            {
                "host": "meters.local",
                "devices": [{"source": "meter-3", "unit": 0, "poll_interval": 60}],
            },
        ],
    }


def write_config(
    directory: Path,
    document: dict[str, Any],
    *,
    credential: str = CREDENTIAL,
    credential_mode: int = 0o600,
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    credential_path = directory / "secrets" / "credential"
    write_secret(credential_path, credential)
    os.chmod(credential_path, credential_mode)
    path = directory / "gateway.toml"
    path.write_text(dump_toml(document))
    return path


def config_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value


def assert_names(error: ConfigError, path: Path, key: str, *expected: str) -> None:
    message = str(error)
    assert str(path) in message
    assert key in message
    assert error.key == key
    assert error.file == path
    for text in expected:
        assert text in message, f"{text!r} not in {message!r}"
