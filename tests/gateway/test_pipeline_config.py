"""The [outbox], [uplink] and [health] keys of store-and-forward: values and mistakes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edgeward.gateway.config.loader import load_config
from edgeward.gateway.config.pipeline import HealthConfig, OutboxConfig, UplinkConfig
from tests.gateway.config_files import assert_names, config_error, valid_document, write_config


def test_store_and_forward_keys_load(tmp_path: Path) -> None:
    document = valid_document()
    document["outbox"].update(
        max_bytes=64 * 1024 * 1024, full_policy="stop_reading", key_rotation_days=7
    )
    document["uplink"].update(batch_max_bytes=65536, batch_max_age=2.5, compress=False)
    document["health"] = {"status_interval": 0.5, "metrics_port": 9102, "metrics_host": "::1"}
    config = load_config(write_config(tmp_path, document))
    assert config.outbox == OutboxConfig("normal", 64 * 1024 * 1024, "stop_reading", 7.0)
    assert (config.uplink.batch_max_bytes, config.uplink.batch_max_age) == (65536, 2.5)
    assert config.uplink.compress is False
    assert config.health == HealthConfig(0.5, 9102, "::1")


def test_defaults_bound_the_backlog_compress_and_keep_metrics_off(tmp_path: Path) -> None:
    document = valid_document()
    del document["outbox"], document["uplink"]
    config = load_config(write_config(tmp_path, document))
    assert config.outbox == OutboxConfig()
    assert config.outbox.max_bytes == 512 * 1024 * 1024
    assert config.outbox.full_policy == "drop_oldest"
    assert config.uplink == UplinkConfig()
    assert config.uplink.compress is True
    assert config.health.metrics_port is None


@pytest.mark.parametrize(
    ("change", "key", "expected"),
    [
        (lambda d: d["outbox"].update(max_bytes=1000), "outbox.max_bytes", "an integer from"),
        (lambda d: d["outbox"].update(full_policy="drop_newest"), "outbox.full_policy", "one of"),
        (lambda d: d["outbox"].update(quota=1), "outbox.quota", "one of the keys"),
        (
            lambda d: d["uplink"].update(batch_max_bytes=8 * 1024 * 1024),
            "uplink.batch_max_bytes",
            "an integer from 1024 to 4194304",
        ),
        (lambda d: d["uplink"].update(batch_max_age=-1), "uplink.batch_max_age", "a number"),
        (lambda d: d["uplink"].update(compress="yes"), "uplink.compress", "true or false"),
        (lambda d: d.update(health={"metrics_port": 70000}), "health.metrics_port", "0 to 65535"),
        (lambda d: d.update(health={"metrics_host": ""}), "health.metrics_host", "a host"),
        (lambda d: d.update(health={"port": 1}), "health.port", "one of the keys"),
    ],
)
def test_mistakes_name_the_key(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], key: str, expected: str
) -> None:
    document = valid_document()
    change(document)
    path = write_config(tmp_path, document)
    assert_names(config_error(path), path, key, expected)
