"""The [admission] section of gateway.toml: defaults, and mistakes named by key."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from edgeward.gateway.config import load_config
from tests.gateway.test_config import assert_names, config_error, valid_document, write_config

KEY = base64.b64encode(bytes(32)).decode()


def test_defaults_and_a_provisioned_key(tmp_path: Path) -> None:
    assert (
        load_config(write_config(tmp_path, valid_document())).admission.registry_public_key is None
    )
    document = valid_document()
    document["admission"] = {
        "registry_interval": 30,
        "report_interval": 1,
        "registry_public_key": KEY,
    }
    admission = load_config(write_config(tmp_path, document)).admission
    assert (admission.registry_interval, admission.report_interval) == (30.0, 1.0)
    assert admission.registry_public_key == KEY


@pytest.mark.parametrize(
    ("section", "key", "expected"),
    [
        ({"registry_public_key": "not a key"}, "admission.registry_public_key", "Ed25519"),
        (
            {"registry_public_key": base64.b64encode(bytes(31)).decode()},
            "admission.registry_public_key",
            "44 chars",
        ),
        ({"registry_interval": 0}, "admission.registry_interval", "0.1"),
        ({"report_every": 5}, "admission.report_every", ""),
    ],
)
def test_mistakes_name_the_key(
    tmp_path: Path, section: dict[str, object], key: str, expected: str
) -> None:
    document = valid_document()
    document["admission"] = section
    path = write_config(tmp_path, document)
    assert_names(config_error(path), path, key, expected)
