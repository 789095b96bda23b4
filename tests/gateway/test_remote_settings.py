"""Remote settings on the gateway side: the overlay goes through the config parser,
both ends apply the same rule per key, and the puller refuses what it can't trust
(against the real cloud, on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from edgeward.gateway.config.loader import load_config
from edgeward.gateway.config.settings_state import read_state
from edgeward.gateway.errors import ConfigError
from edgeward.gateway.runtime.remote_settings import RemoteSettings
from edgeward.gateway.runtime.service import cloud_client
from edgeward.sync.remote_settings import REMOTE_RULES, Rule, SettingsError, validate_overlay
from tests.gateway.config_files import valid_document, write_config
from tests.peers.cloud import CloudServer


def bad_value(rule: Rule) -> object:
    if rule.kind == "integer":
        return int(rule.high) + 1
    if rule.kind == "number":
        return rule.low - 1
    return "nope"


RULES = [
    (section, key, rule) for section, keys in REMOTE_RULES.items() for key, rule in keys.items()
]


@pytest.mark.parametrize(("section", "key", "rule"), RULES, ids=[f"{s}.{k}" for s, k, _ in RULES])
def test_cloud_and_gateway_refuse_a_bad_value_alike(
    tmp_path: Path, section: str, key: str, rule: Rule
) -> None:
    overlay = {section: {key: bad_value(rule)}}
    with pytest.raises(SettingsError) as at_cloud:
        validate_overlay(overlay)
    with pytest.raises(ConfigError) as at_gateway:
        load_config(write_config(tmp_path, valid_document()), overlay, 4)
    assert at_cloud.value.path == at_gateway.value.key == f"{section}.{key}"
    assert at_gateway.value.expected == rule.expected
    assert f"expected {rule.expected}, found" in at_cloud.value.message
    assert "gateway.toml with cloud settings version 4" in str(at_gateway.value)


def test_every_remote_key_is_a_key_of_gateway_toml(tmp_path: Path) -> None:
    """A remotely settable key the parser doesn't know would be refused by every gateway."""
    sample: dict[str, dict[str, Any]] = {
        section: {key: rule.options[0] if rule.options else rule.high for key, rule in keys.items()}
        for section, keys in REMOTE_RULES.items()
    }
    for keys in sample.values():
        for key, value in keys.items():
            if value == 0:
                keys[key] = 1
    sample["uplink"]["compress"] = False
    config = load_config(write_config(tmp_path, valid_document()), sample, 9)
    assert config.settings_version == 9
    assert config.outbox.rotate_key_serial == REMOTE_RULES["outbox"]["rotate_key_serial"].high
    assert config.log.level == "debug" and config.uplink.compress is False
    assert config.path.name == "gateway.toml", "the config still names its file"


def test_the_overlay_keeps_the_files_other_keys(tmp_path: Path) -> None:
    path = write_config(tmp_path, valid_document())
    config = load_config(path, {"uplink": {"timeout": 7}}, 2)
    base = load_config(path)
    assert config.uplink.timeout == 7.0
    assert config.uplink.batch_max_readings == base.uplink.batch_max_readings == 250
    assert config.data_dir == base.data_dir and config.outbox == base.outbox


def test_a_bad_cloud_public_key_names_the_key(tmp_path: Path) -> None:
    document = valid_document()
    document["cloud"]["public_key"] = "bm90IGEga2V5"
    with pytest.raises(ConfigError) as error:
        load_config(write_config(tmp_path, document))
    assert error.value.key == "cloud.public_key"


def configure(tmp_path: Path, cloud: CloudServer, public_key: str) -> Path:
    gateway = cloud.add_gateway()
    document = valid_document()
    document["gateway"]["id"] = gateway.id
    document["cloud"].update(url=cloud.url, public_key=public_key)
    path = write_config(tmp_path, document, credential=gateway.credential)
    with cloud.client(cloud.account.owner_token) as owner:
        owner.put(
            f"/v1/gateways/{gateway.id}/settings",
            json={"settings": {"uplink": {"timeout": 4}}},
        ).raise_for_status()
    return path


def test_settings_signed_by_another_key_are_refused(tmp_path: Path, api_cloud: CloudServer) -> None:
    other_key = "A" * 43 + "="  # a valid-looking key that did not sign them
    path = configure(tmp_path, api_cloud, other_key)
    base = load_config(path)
    remote = RemoteSettings(path, base)

    async def main() -> bool:
        async with cloud_client(base) as client:
            return await remote.poll(client)

    assert asyncio.run(main()) is False
    assert remote.config == base, "gateway.toml keeps running"
    assert not (base.data_dir / "settings.json").exists(), "nothing unverified is kept"
    saved = read_state(base.data_dir)
    assert saved is not None and "not signed by the cloud" in saved["refused_error"]


def test_verified_settings_are_kept_and_applied_at_start(
    tmp_path: Path, api_cloud: CloudServer
) -> None:
    with api_cloud.client() as client:
        key = client.get("/v1/registry/public-key").json()["public_key"]
    path = configure(tmp_path, api_cloud, key)
    base = load_config(path)
    remote = RemoteSettings(path, base)

    async def main() -> tuple[bool, bool]:
        async with cloud_client(base) as client:
            return await remote.poll(client), await remote.poll(client)

    assert asyncio.run(main()) == (True, False), "new, then unchanged"
    assert remote.config.uplink.timeout == 4.0 and remote.config.settings_version == 1
    restarted = RemoteSettings(path, base).load_last_good()
    assert (restarted.settings_version, restarted.uplink.timeout) == (1, 4.0)
