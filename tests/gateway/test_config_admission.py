"""The [admission] section of gateway.toml: defaults, and mistakes named by key."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeward.gateway.config.loader import load_config
from tests.gateway.config_files import assert_names, config_error, valid_document, write_config


def test_defaults_and_set_intervals(tmp_path: Path) -> None:
    defaults = load_config(write_config(tmp_path, valid_document())).admission
    assert (defaults.registry_interval, defaults.report_interval) == (60.0, 5.0)
    document = valid_document()
    document["admission"] = {"registry_interval": 30, "report_interval": 1}
    admission = load_config(write_config(tmp_path, document)).admission
    assert (admission.registry_interval, admission.report_interval) == (30.0, 1.0)


@pytest.mark.parametrize(
    ("section", "key", "expected"),
    [
        # The cloud's key is [cloud] public_key (one key signs every document).
        ({"registry_public_key": "a key"}, "admission.registry_public_key", ""),
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
