"""gateway.toml: a valid file loads whole; every mistake names the file, the key and
what was expected; the CLI turns a mistake into exit status 2 before starting anything."""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edgeward.gateway.config.loader import load_config
from edgeward.gateway.errors import ConfigError
from tests.gateway.config_files import (
    CREDENTIAL,
    assert_names,
    config_error,
    valid_document,
    write_config,
)

# --- a valid file --------------------------------------------------------------------


def test_full_valid_config_loads_with_every_value(tmp_path: Path) -> None:
    path = write_config(tmp_path / "etc", valid_document())
    config = load_config(path)

    assert config.path == path
    assert config.gateway_id == "gw-1a2b3c4d5e6f"
    assert config.data_dir == (tmp_path / "etc" / "data").resolve()
    assert config.outbox_path == config.data_dir / "outbox.db"
    assert config.cloud.url == "https://cloud.example"
    assert config.cloud.credential == CREDENTIAL  # the trailing newline is stripped
    assert (
        config.uplink.batch_max_readings,
        config.uplink.idle_interval,
        config.uplink.timeout,
        config.uplink.backoff_max,
    ) == (250, 0.5, 3.0, 30.0)
    assert config.outbox.synchronous == "normal"

    first, second = config.modbus_tcp
    assert (first.host, first.port, first.timeout) == ("192.168.1.50", 5020, 1.5)
    assert (second.host, second.port, second.timeout) == ("meters.local", 502, 2.0)
    meter1, meter2 = first.devices
    assert (meter1.source, meter1.unit, meter1.poll_interval) == ("meter-1", 1, 0.25)
    assert (meter2.source, meter2.unit, meter2.poll_interval) == ("meter-2", 2, 1.0)
    assert (second.devices[0].source, second.devices[0].unit) == ("meter-3", 0)
    assert second.devices[0].poll_interval == 60.0

    # What to read from each unit, and how, is its type's: nothing more to load here.


def test_optional_sections_take_their_defaults(tmp_path: Path) -> None:
    document = valid_document()
    del document["uplink"], document["outbox"], document["modbus_tcp"]
    config = load_config(write_config(tmp_path, document))
    assert (
        config.uplink.batch_max_readings,
        config.uplink.idle_interval,
        config.uplink.timeout,
        config.uplink.backoff_max,
    ) == (500, 1.0, 10.0, 60.0)
    assert config.outbox.synchronous == "full"
    assert config.modbus_tcp == ()


def test_relative_paths_resolve_against_the_config_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_dir = tmp_path / "etc" / "edgeward"
    path = write_config(config_dir, valid_document())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(path)
    assert config.data_dir == config_dir.resolve() / "data"
    assert config.cloud.credential == CREDENTIAL
    # A relative --config path works from the current directory too.
    monkeypatch.chdir(tmp_path)
    relative = load_config(Path("etc/edgeward/gateway.toml"))
    assert relative.data_dir == config_dir.resolve() / "data"


def test_absolute_paths_are_kept(tmp_path: Path) -> None:
    document = valid_document()
    document["gateway"]["data_dir"] = str(tmp_path / "var" / "lib")
    document["cloud"]["credential_file"] = str(tmp_path / "etc" / "secrets" / "credential")
    config = load_config(write_config(tmp_path / "etc", document))
    assert config.data_dir == tmp_path / "var" / "lib"
    assert config.cloud.credential == CREDENTIAL


# --- file-level errors ---------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    error = config_error(path)
    assert str(path) in str(error)
    assert "an existing file" in str(error)


def test_invalid_toml(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text('[gateway]\nid = "gw-1\n')
    error = config_error(path)
    assert str(path) in str(error)
    assert "valid TOML" in str(error)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_bytes(b'[gateway]\nid = "\xff"\n')
    error = config_error(path)
    assert str(path) in str(error)
    assert "UTF-8" in str(error)


# --- key-level errors ----------------------------------------------------------------


Mutation = Callable[[dict[str, Any]], None]


def device(document: dict[str, Any], endpoint: int = 0, index: int = 0) -> dict[str, Any]:
    found: dict[str, Any] = document["modbus_tcp"][endpoint]["devices"][index]
    return found


CASES: list[tuple[str, Mutation, str, tuple[str, ...]]] = [
    ("missing-gateway", lambda d: d.pop("gateway"), "gateway", ("a [gateway] table", "missing")),
    (
        "gateway-not-a-table",
        lambda d: d.update(gateway="gw-1"),
        "gateway",
        ("a table", "str"),
    ),
    ("missing-cloud", lambda d: d.pop("cloud"), "cloud", ("a [cloud] table",)),
    (
        "missing-gateway-id",
        lambda d: d["gateway"].pop("id"),
        "gateway.id",
        ("a non-empty string", "missing"),
    ),
    (
        "blank-gateway-id",
        lambda d: d["gateway"].update(id="  "),
        "gateway.id",
        ("a non-empty string",),
    ),
    (
        "missing-data-dir",
        lambda d: d["gateway"].pop("data_dir"),
        "gateway.data_dir",
        ("missing",),
    ),
    (
        "missing-unit",
        lambda d: device(d).pop("unit"),
        "modbus_tcp[0].devices[0].unit",
        ("an integer from 0 to 255", "missing"),
    ),
    (
        "unknown-top-level-key",
        lambda d: d.update(modbus_ascii=[]),
        "modbus_ascii",
        ("an unknown key",),
    ),
    (
        "unknown-device-key-typo",
        lambda d: device(d).update(pol_interval=5.0),
        "modbus_tcp[0].devices[0].pol_interval",
        ("an unknown key", "poll_interval"),
    ),
    (
        "unknown-second-endpoint-key",
        lambda d: d["modbus_tcp"][1].update(hostname="x"),
        "modbus_tcp[1].hostname",
        ("an unknown key", "host"),
    ),
    (
        "unknown-uplink-key",
        lambda d: d["uplink"].update(retries=3),
        "uplink.retries",
        ("an unknown key",),
    ),
    (
        "unit-is-a-string",
        lambda d: device(d).update(unit="1"),
        "modbus_tcp[0].devices[0].unit",
        ("an integer from 0 to 255", "'1'"),
    ),
    (
        "unit-is-a-bool",
        lambda d: device(d).update(unit=True),
        "modbus_tcp[0].devices[0].unit",
        ("an integer from 0 to 255", "True"),
    ),
    (
        "unit-is-a-float",
        lambda d: device(d).update(unit=1.0),
        "modbus_tcp[0].devices[0].unit",
        ("an integer from 0 to 255", "1.0"),
    ),
    (
        "poll-interval-is-a-string",
        lambda d: device(d).update(poll_interval="1s"),
        "modbus_tcp[0].devices[0].poll_interval",
        ("a number from 0.01 to 86400", "'1s'"),
    ),
    (
        "port-is-a-string",
        lambda d: d["modbus_tcp"][0].update(port="502"),
        "modbus_tcp[0].port",
        ("an integer from 1 to 65535",),
    ),
    (
        "url-is-a-number",
        lambda d: d["cloud"].update(url=8080),
        "cloud.url",
        ("a non-empty string", "8080"),
    ),
    (
        "url-without-scheme",
        lambda d: d["cloud"].update(url="cloud.example"),
        "cloud.url",
        ("an http:// or https:// URL", "cloud.example"),
    ),
    (
        "modbus-tcp-is-a-table",
        lambda d: d.update(modbus_tcp={"host": "x"}),
        "modbus_tcp",
        ("an array of tables [[modbus_tcp]]",),
    ),
    (
        "unit-out-of-range",
        lambda d: device(d).update(unit=256),
        "modbus_tcp[0].devices[0].unit",
        ("an integer from 0 to 255", "256"),
    ),
    (
        "unit-negative",
        lambda d: device(d).update(unit=-1),
        "modbus_tcp[0].devices[0].unit",
        ("an integer from 0 to 255", "-1"),
    ),
    (
        "port-zero",
        lambda d: d["modbus_tcp"][1].update(port=0),
        "modbus_tcp[1].port",
        ("an integer from 1 to 65535", "0"),
    ),
    (
        "port-too-high",
        lambda d: d["modbus_tcp"][0].update(port=65536),
        "modbus_tcp[0].port",
        ("an integer from 1 to 65535", "65536"),
    ),
    (
        "poll-interval-zero",
        lambda d: device(d, 0, 1).update(poll_interval=0),
        "modbus_tcp[0].devices[1].poll_interval",
        ("a number from 0.01 to 86400", "0"),
    ),
    (
        "poll-interval-inf",
        lambda d: device(d).update(poll_interval=float("inf")),
        "modbus_tcp[0].devices[0].poll_interval",
        ("a number from 0.01 to 86400", "inf"),
    ),
    (
        "poll-interval-nan",
        lambda d: device(d).update(poll_interval=float("nan")),
        "modbus_tcp[0].devices[0].poll_interval",
        ("a number from 0.01 to 86400", "nan"),
    ),
    (
        "batch-max-readings-zero",
        lambda d: d["uplink"].update(batch_max_readings=0),
        "uplink.batch_max_readings",
        ("an integer from 1 to 10000", "0"),
    ),
    (
        "batch-max-readings-over-the-wire-limit",
        lambda d: d["uplink"].update(batch_max_readings=10_001),
        "uplink.batch_max_readings",
        ("an integer from 1 to 10000", "10001"),
    ),
    (
        "timeout-negative",
        lambda d: d["uplink"].update(timeout=-1.0),
        "uplink.timeout",
        ("a number from 0.1 to 600", "-1.0"),
    ),
    (
        "bad-synchronous",
        lambda d: d["outbox"].update(synchronous="off"),
        "outbox.synchronous",
        ("one of 'full', 'normal'", "'off'"),
    ),
    (
        "endpoint-without-devices",
        lambda d: d["modbus_tcp"][1].update(devices=[]),
        "modbus_tcp[1].devices",
        ("at least one [[modbus_tcp.devices]]",),
    ),
    (
        "duplicate-source-same-endpoint",
        lambda d: device(d, 0, 1).update(source="meter-1"),
        "modbus_tcp[0].devices[1].source",
        ("a data source configured once", "'meter-1'"),
    ),
    (
        "duplicate-source-across-endpoints",
        lambda d: device(d, 1, 0).update(source="meter-2"),
        "modbus_tcp[1].devices[0].source",
        ("a data source configured once", "'meter-2'"),
    ),
    (
        "source-not-an-identifier",
        lambda d: device(d).update(source="meter 1"),
        "modbus_tcp[0].devices[0].source",
        ("an identifier", "'meter 1'"),
    ),
    (
        "gateway-id-not-an-identifier",
        lambda d: d["gateway"].update(id="gw/1"),
        "gateway.id",
        ("an identifier",),
    ),
]


@pytest.mark.parametrize(
    ("mutate", "key", "expected"),
    [pytest.param(m, k, e, id=name) for name, m, k, e in CASES],
)
def test_each_mistake_names_file_key_and_expectation(
    tmp_path: Path, mutate: Mutation, key: str, expected: tuple[str, ...]
) -> None:
    document = copy.deepcopy(valid_document())
    mutate(document)
    path = write_config(tmp_path, document)
    assert_names(config_error(path), path, key, "expected", *expected)


# --- keys that moved into the data-source type ----------------------------------------


def assert_moved(error: ConfigError, path: Path, key: str, name: str) -> None:
    """Refused naming the key, where its description went, and the command that moves it."""
    assert_names(error, path, key, f"no {name!r} here", "data-source type")
    assert f"edgeward devices convert --config {path}" in str(error)


@pytest.mark.parametrize(
    "registers",
    [
        [{"name": "voltage", "address": 0, "type": "float32"}],
        [],  # even an empty map: the file must not look as if it said what to read
        "voltage",
    ],
    ids=["a-register-map", "an-empty-one", "not-even-an-array"],
)
def test_an_inline_register_map_is_refused_naming_the_converter(
    tmp_path: Path, registers: object
) -> None:
    document = valid_document()
    device(document, 1, 0)["registers"] = registers
    path = write_config(tmp_path, document)
    assert_moved(config_error(path), path, "modbus_tcp[1].devices[0].registers", "registers")


def test_the_bus_spells_the_endpoint_as_its_registry_binding(tmp_path: Path) -> None:
    from edgeward.gateway.config.places import Binding, bindings
    from edgeward.provisioning.placement import parse_bus

    config = load_config(write_config(tmp_path, valid_document()))
    first, second = config.modbus_tcp
    assert first.bus == "modbus-tcp://192.168.1.50:5020"
    assert second.bus == "modbus-tcp://meters.local:502"  # the port the parser defaulted
    # `devices add --binding bus=...` reads the same spelling back to the same section.
    assert parse_bus(first.bus) == ("modbus_tcp", {"host": "192.168.1.50", "port": 5020})
    assert parse_bus(second.bus) == ("modbus_tcp", {"host": "meters.local", "port": 502})
    assert list(bindings(config)) == [
        Binding("modbus_tcp[0].devices[0]", "meter-1", "modbus", {"bus": first.bus, "unit": 1}),
        Binding("modbus_tcp[0].devices[1]", "meter-2", "modbus", {"bus": first.bus, "unit": 2}),
        Binding("modbus_tcp[1].devices[0]", "meter-3", "modbus", {"bus": second.bus, "unit": 0}),
    ]


# --- the credential file -------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o700 | 0o004])
def test_credential_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = write_config(tmp_path, valid_document(), credential_mode=mode)
    error = config_error(path)
    assert_names(error, path, "cloud.credential_file", "chmod 600", f"{mode:04o}")
    assert CREDENTIAL not in str(error)


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_credential_only_its_owner_can_read_is_accepted(tmp_path: Path, mode: int) -> None:
    path = write_config(tmp_path, valid_document(), credential_mode=mode)
    assert load_config(path).cloud.credential == CREDENTIAL


@pytest.mark.parametrize("content", ["", "\n", "   \n\n"])
def test_empty_credential_file_is_refused(tmp_path: Path, content: str) -> None:
    path = write_config(tmp_path, valid_document(), credential=content)
    assert_names(config_error(path), path, "cloud.credential_file", "empty file")


def test_missing_credential_file_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, valid_document())
    (tmp_path / "secrets" / "credential").unlink()
    assert_names(config_error(path), path, "cloud.credential_file", "a readable file")


# --- the CLI -------------------------------------------------------------------------


def edgeward(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edgeward", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )


def bad_unit_config(tmp_path: Path) -> Path:
    document = valid_document()
    device(document)["unit"] = 300
    return write_config(tmp_path / "etc", document)


def test_check_config_accepts_a_good_file(tmp_path: Path) -> None:
    path = write_config(tmp_path / "etc", valid_document())
    result = edgeward("gateway", "check-config", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout
    assert "gw-1a2b3c4d5e6f" in result.stdout
    assert "3 data sources" in result.stdout


def test_check_config_refuses_a_bad_file_with_status_2(tmp_path: Path) -> None:
    path = bad_unit_config(tmp_path)
    result = edgeward("gateway", "check-config", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert str(path) in result.stderr
    assert "modbus_tcp[0].devices[0].unit" in result.stderr
    assert "an integer from 0 to 255" in result.stderr
    assert "Traceback" not in result.stderr
    assert "OK" not in result.stdout


def test_check_config_refuses_an_inline_register_map_naming_the_converter(
    tmp_path: Path,
) -> None:
    document = valid_document()
    device(document)["registers"] = [{"name": "voltage", "address": 0, "type": "float32"}]
    path = write_config(tmp_path / "etc", document)
    result = edgeward("gateway", "check-config", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert "modbus_tcp[0].devices[0].registers" in result.stderr
    assert f"edgeward devices convert --config {path}" in result.stderr
    assert "Traceback" not in result.stderr
    assert "OK" not in result.stdout


def test_check_config_refuses_a_missing_file_with_status_2(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    result = edgeward("gateway", "check-config", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert str(path) in result.stderr
    assert "Traceback" not in result.stderr


def test_run_with_a_bad_config_exits_2_and_starts_nothing(tmp_path: Path) -> None:
    path = bad_unit_config(tmp_path)
    result = edgeward("gateway", "run", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert str(path) in result.stderr
    assert "modbus_tcp[0].devices[0].unit" in result.stderr
    assert "Traceback" not in result.stderr
    data_dir = tmp_path / "etc" / "data"
    assert not data_dir.exists(), "the data_dir (and its outbox) must not be created"
    assert not list(tmp_path.rglob("outbox.db*"))


def test_run_with_a_world_readable_credential_exits_2_and_starts_nothing(tmp_path: Path) -> None:
    path = write_config(tmp_path / "etc", valid_document(), credential_mode=0o644)
    result = edgeward("gateway", "run", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert "cloud.credential_file" in result.stderr
    assert CREDENTIAL not in result.stderr + result.stdout
    assert not (tmp_path / "etc" / "data").exists()


def test_secrets_stay_out_of_reprs() -> None:
    from edgeward.drivers.mqtt.client import Broker
    from edgeward.gateway.config.loader import CloudConfig

    assert "ewg_top_secret" not in repr(CloudConfig(url="https://c", credential="ewg_top_secret"))
    assert "hunter2" not in repr(Broker(host="b", username="gw", password="hunter2"))
