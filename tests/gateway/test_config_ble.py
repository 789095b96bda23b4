"""gateway.toml's [ble] section: a good one loads; mistakes name the key.

A device binds one source to an address (or a name or service) and a poll
interval; which characteristics it has and how each decodes is its type's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edgeward.gateway.config.loader import GatewayConfig, load_config
from edgeward.gateway.config.places import Binding, bindings
from edgeward.gateway.config.toml_writer import dump_toml, write_secret
from edgeward.gateway.errors import ConfigError

ADDRESS = "C0:FF:EE:00:00:01"


def ble_document(*more: dict[str, Any], **device: Any) -> dict[str, Any]:
    """One device (``key=None`` leaves a key out), then ``more``."""
    first = {"address": ADDRESS, "source": "env-1", "poll_interval": 30.0, **device}
    return {
        "gateway": {"id": "gw-1", "data_dir": "data"},
        "cloud": {"url": "https://cloud.example", "credential_file": "credential"},
        "ble": {
            "devices": [
                {key: value for key, value in first.items() if value is not None},
                *more,
            ]
        },
    }


def path_of(tmp_path: Path) -> Path:
    return tmp_path / "gateway.toml"


def load(tmp_path: Path, document: dict[str, Any]) -> GatewayConfig:
    write_secret(tmp_path / "credential", "ewg_x")
    path_of(tmp_path).write_text(dump_toml(document))
    return load_config(path_of(tmp_path))


def refusal(tmp_path: Path, document: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, document)
    assert caught.value.file == path_of(tmp_path)
    assert str(path_of(tmp_path)) in str(caught.value)
    return caught.value


def test_a_ble_device_binds_its_source_and_poll_interval(tmp_path: Path) -> None:
    config = load(tmp_path, ble_document())
    assert config.ble is not None
    (device,) = config.ble.devices
    assert (device.match.address, device.match.name, device.match.service_uuid) == (
        ADDRESS,
        None,
        None,
    )
    assert (device.source, device.poll_interval) == ("env-1", 30.0)
    assert config.ble.adapter is None
    assert config.ble.sources == [("ble.devices[0].source", "env-1")]
    assert config.source_count == 1
    assert list(bindings(config)) == [
        Binding("ble.devices[0]", "env-1", "ble", {"address": ADDRESS})
    ]


def test_poll_interval_defaults_and_the_address_is_bound_in_capitals(tmp_path: Path) -> None:
    config = load(tmp_path, ble_document(address=ADDRESS.lower(), poll_interval=None))
    assert config.ble is not None
    assert config.ble.devices[0].poll_interval == 5.0
    # As the cloud binds it and the driver tags its readings' origin.
    assert next(bindings(config)).binding == {"address": ADDRESS}


def test_a_device_found_by_name_or_service_binds_no_address(tmp_path: Path) -> None:
    config = load(tmp_path, ble_document(address=None, name="Thermo", service_uuid="181a"))
    assert config.ble is not None
    match = config.ble.devices[0].match
    assert (match.address, match.name) == (None, "Thermo")
    assert match.service_uuid == "0000181a-0000-1000-8000-00805f9b34fb"
    # The cloud binds a BLE source by its address: this one has none to hold it to.
    assert next(bindings(config)).binding == {}


def test_the_adapter_and_timing(tmp_path: Path) -> None:
    document = ble_document()
    document["ble"].update(adapter="hci1", scan_timeout=3, timeout=4.5, backoff_max=120)
    config = load(tmp_path, document)
    assert config.ble is not None
    timing = config.ble.timing
    assert config.ble.adapter == "hci1"
    assert (timing.scan_timeout, timing.timeout, timing.backoff_initial, timing.backoff_max) == (
        3.0,
        4.5,
        1.0,
        120.0,
    )


@pytest.mark.parametrize(
    ("address", "spelt"),
    [(ADDRESS, ADDRESS), (ADDRESS.lower(), ADDRESS)],
    ids=["same-spelling", "other-case"],
)
def test_a_device_twice_is_refused_naming_both_entries(
    tmp_path: Path, address: str, spelt: str
) -> None:
    """One entry per characteristic was how `devices add` once wrote a sensor:
    `gateway run` then died. The type lists every characteristic of the one entry."""
    other = {"address": address, "source": "env-1-humidity"}
    error = refusal(tmp_path, ble_document({"address": "C0:FF:EE:00:00:02", "source": "b"}, other))
    assert error.key == "ble.devices[2]"
    message = str(error)
    assert "ble.devices[2]" in message and "ble.devices[0]" in message
    assert f"address={spelt}" in message
    assert "its type lists every characteristic" in message


def test_the_same_address_is_the_same_device_whatever_name_the_entries_add(
    tmp_path: Path,
) -> None:
    """The driver refuses it (two links to one device end each other): check-config must too."""
    error = refusal(tmp_path, ble_document({"address": ADDRESS, "name": "Thermo", "source": "b"}))
    assert error.key == "ble.devices[1]"
    assert "ble.devices[0]" in str(error) and f"address={ADDRESS}" in str(error)


@pytest.mark.parametrize(
    ("change", "key", "expected"),
    [
        ({"colour": "blue"}, "ble.devices[0].colour", "an unknown key"),
        ({"address": None}, "ble.devices[0].address", "an address, a name or a service_uuid"),
        ({"address": "C0:FF:EE:00:00"}, "ble.devices[0].address", "not a Bluetooth address"),
        ({"source": None}, "ble.devices[0].source", "a non-empty string"),
        ({"source": "env 1"}, "ble.devices[0].source", "an identifier"),
        ({"poll_interval": 0.01}, "ble.devices[0].poll_interval", "a number from 0.05 to 86400"),
        ({"poll_interval": "5s"}, "ble.devices[0].poll_interval", "a number from 0.05 to 86400"),
    ],
)
def test_mistakes_name_the_key(
    tmp_path: Path, change: dict[str, Any], key: str, expected: str
) -> None:
    error = refusal(tmp_path, ble_document(**change))
    assert error.key == key
    assert expected in str(error)


@pytest.mark.parametrize(
    ("change", "key", "expected"),
    [
        ({"devices": []}, "ble.devices", "at least one [[ble.devices]]"),
        ({"scan_timeout": 0}, "ble.scan_timeout", "a number from 0.1 to 600"),
        ({"backoff_max": 3601}, "ble.backoff_max", "a number from 0.01 to 3600"),
        ({"adapter": ""}, "ble.adapter", "a non-empty string"),
        ({"retries": 3}, "ble.retries", "an unknown key"),
    ],
)
def test_section_mistakes_name_the_key(
    tmp_path: Path, change: dict[str, Any], key: str, expected: str
) -> None:
    document = ble_document()
    document["ble"].update(change)
    error = refusal(tmp_path, document)
    assert error.key == key
    assert expected in str(error)


def test_characteristics_moved_into_the_type_are_refused_naming_the_converter(
    tmp_path: Path,
) -> None:
    characteristic = {"uuid": "2a6e", "fields": [{"name": "t", "offset": 0, "type": "int16"}]}
    error = refusal(tmp_path, ble_document(characteristics=[characteristic]))
    assert error.key == "ble.devices[0].characteristics"
    assert "no 'characteristics' here" in str(error)
    assert f"edgeward devices convert --config {path_of(tmp_path)}" in str(error)


def test_a_ble_source_may_not_repeat_another_transports(tmp_path: Path) -> None:
    document = ble_document()
    document["serial"] = [{"port": "/dev/ttyUSB0", "source": "env-1"}]
    error = refusal(tmp_path, document)
    assert error.key == "ble.devices[0].source"
    assert "a data source configured once" in str(error) and "'env-1' again" in str(error)
