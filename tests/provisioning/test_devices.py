"""``edgeward devices scan`` against real pymodbus servers; ``edgeward devices add``
against the served cloud, with real devices (pymodbus, a sensor behind socat,
mosquitto) answering or not, as an installer runs it."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from edgeward.gateway.config.loader import load_config
from tests.peers.cloud import CloudServer
from tests.peers.modbus import ModbusServerThread
from tests.peers.mosquitto import PASSWORD, USERNAME, Mosquitto
from tests.peers.serial_sensor import serial_sensor
from tests.peers.socat import PtyPair
from tests.provisioning.conftest import edgeward, provision, provisioned

METER = "builtin:modbus-power-meter"
METER_TYPE = "Modbus power meter (Edgeward register map)"


# The built-in meter type's own example, as its registers hold it: 230.5 V, 4.25 A,
# 979.625 W, 123456 Wh, 50.01 Hz (values within its fields' ranges).
METER_WORDS = [0x4366, 0x8000, 0x4088, 0x0000, 0x4474, 0xE800, 0x0001, 0xE240, 0x1389]


def test_scan_finds_the_units_that_answer_and_the_types_that_fit() -> None:
    with ModbusServerThread([1, 3]) as server:
        server.update(lambda bank: bank.write(1, 0, METER_WORDS))
        server.update(lambda bank: bank.write(3, 0, METER_WORDS))
        endpoint = f"127.0.0.1:{server.port}"
        done = edgeward("devices", "scan", "--modbus-tcp", endpoint, "--units", "1-4")
    assert done.returncode == 0, done.stdout + done.stderr
    found = done.stdout.split("serial ports:")[0]
    fits = f"    fits {METER} (5 registers read)\n"
    assert found == (
        f"modbus-tcp://{endpoint}: 2 units answer\n"
        "  unit 1: answers (holding register 0 = 4366)\n"
        f"{fits}"
        "  unit 3: answers (holding register 0 = 4366)\n"
        f"{fits}"
    )


def test_scan_of_a_closed_endpoint_says_so() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = edgeward("devices", "scan", "--modbus-tcp", f"127.0.0.1:{port}", "--units", "1")
    assert done.returncode == 1
    assert f"✗ modbus-tcp://127.0.0.1:{port}: " in done.stdout


def test_ble_scan_reports_devices_or_why_not() -> None:
    done = edgeward("devices", "scan", "--ble", "1")
    assert done.returncode == 0, done.stderr
    ble = next(line for line in done.stdout.splitlines() if line.startswith("BLE: "))
    assert ble.endswith(" devices") or "no BLE adapter usable here" in ble, ble


@dataclass
class Site:
    """A provisioned gateway: its root, its gateway.toml as provisioning wrote it,
    and an installer's token."""

    cloud: CloudServer
    root: Path
    token_file: Path
    pristine: str

    @property
    def config(self) -> Path:
        return self.root / "gateway.toml"

    def add(self, *args: str) -> subprocess.CompletedProcess[str]:
        return edgeward(
            *("devices", "add", "--root", str(self.root), "--token-file", str(self.token_file)),
            *("--timeout", "0.5", *args),
        )

    def sources(self) -> dict[str, dict[str, Any]]:
        with self.cloud.client(self.cloud.account.owner_token) as owner:
            listed = owner.get("/v1/data-sources").json()["items"]
        return {source["name"]: source for source in listed}

    def new_type(self, spec: dict[str, Any]) -> str:
        with self.cloud.client(self.cloud.account.owner_token) as owner:
            created = owner.post("/v1/data-source-types", json={"name": "t", "spec": spec})
        return str(created.raise_for_status().json()["id"])


@pytest.fixture(scope="module")
def site_once(served_cloud: CloudServer, tmp_path_factory: pytest.TempPathFactory) -> Site:
    root = tmp_path_factory.mktemp("site") / "etc"
    provisioned(served_cloud, root)
    token_file = root.parent / "token"
    grants = ("data-sources:POST", "data-source-types:GET")
    token_file.write_text(served_cloud.token_with(*grants, name="installer"))
    token_file.chmod(0o600)
    return Site(served_cloud, root, token_file, (root / "gateway.toml").read_text())


@pytest.fixture
def site(site_once: Site) -> Iterator[Site]:
    """The provisioned site, its gateway.toml as provisioning left it."""
    site_once.config.write_text(site_once.pristine)
    yield site_once


@pytest.fixture(scope="module")
def meters() -> Iterator[ModbusServerThread]:
    with ModbusServerThread([1, 2]) as server:
        server.update(lambda bank: bank.write(1, 0, [0x4366, 0x8000]))
        yield server


@pytest.mark.slow
def test_add_writes_only_the_binding_and_registers_it_as_the_gateway_spells_it(
    site: Site, meters: ModbusServerThread
) -> None:
    bus = f"modbus-tcp://127.0.0.1:{meters.port}"
    done = site.add("--source", "meter-a", "--type", METER, "--binding", f"bus={bus}")
    assert done.returncode == 2 and "missing unit (e.g. --binding bus=" in done.stderr
    done = site.add(
        *("--source", "meter-a", "--type", METER, "--binding", f"bus={bus}"),
        *("--binding", "unit=1", "--poll-interval", "2"),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    section = (
        f'\n[[modbus_tcp]]\nhost = "127.0.0.1"\nport = {meters.port}\n\n'
        '[[modbus_tcp.devices]]\nsource = "meter-a"\nunit = 1\npoll_interval = 2.0\n'
    )
    assert site.config.read_text() == site.pristine + section
    registered = site.sources()["meter-a"]
    assert (registered["type_id"], registered["binding"]) == (METER, {"bus": bus, "unit": 1})
    assert done.stdout == (
        f"✓ type {METER}: {METER_TYPE} (modbus, 5 registers)\n"
        f"✓ {site.config} with meter-a added as modbus_tcp[0].devices[0] loads with the "
        "gateway's parser\n"
        f"✓ meter-a answers: read holding register 0 of unit 1 at {bus}: it answered 4366\n"
        f"✓ data source meter-a ({registered['id']}) registered for this gateway\n"
        f"✓ {site.config}: modbus_tcp[0].devices[0] added\n"
        + "".join(f"    {line}\n" for line in section.strip("\n").splitlines())
        + "restart the gateway to read it (systemctl restart edgeward-gateway on the image)\n"
    )

    again = site.add("--source", "meter-a", "--type", METER, "--binding", "bus=modbus-tcp://h")
    assert again.returncode == 2, again.stdout + again.stderr
    # The bus without its port is spelt as the gateway does before it is compared.
    shared = site.add(
        *("--source", "meter-a-2", "--type", METER),
        *("--binding", f"bus={bus}", "--binding", "unit=1"),
    )
    assert shared.returncode == 0, shared.stdout + shared.stderr
    assert (
        f"  note: unit 1 on {bus} is read for meter-a too (modbus_tcp[0].devices[0]); "
        "each source reads its own type's registers\n"
    ) in shared.stdout
    kept = site.config.read_text()
    again = site.add(
        *("--source", "meter-a", "--type", METER),
        *("--binding", f"bus={bus}", "--binding", "unit=2"),
    )
    assert again.returncode == 2
    assert again.stderr == (
        f"✗ meter-a is in gateway.toml already: modbus_tcp[0].devices[0] (bus {bus}, unit 1)\n"
        "  what to check: remove that entry first to bind it elsewhere; nothing was registered\n"
    )
    assert site.config.read_text() == kept
    # Provisioning run again (it resumes, idempotent) keeps the sections as written.
    again = provision(site.cloud.url, None, site.root, "--no-tunnel")
    assert again.returncode == 0, again.stdout + again.stderr
    assert site.config.read_text() == kept


@pytest.mark.slow
def test_a_unit_that_does_not_answer_is_not_added_without_force(
    site: Site, meters: ModbusServerThread
) -> None:
    bus = f"modbus-tcp://127.0.0.1:{meters.port}"
    args = (
        "--source",
        "meter-c",
        "--type",
        METER,
        "--binding",
        f"bus={bus}",
        "--binding",
        "unit=3",
    )
    silent = site.add(*args)
    assert silent.returncode == 1, silent.stdout + silent.stderr
    assert silent.stderr == (
        f"✗ meter-c does not answer: tried to read holding register 0 of unit 3 at {bus}: "
        "exception 0x04 (server device failure) for unit 3: not there, or failing\n"
        "  what to check: check the binding, the wiring and the device's power; nothing was "
        "registered or written (--force registers it anyway)\n"
    )
    assert site.config.read_text() == site.pristine
    assert "meter-c" not in site.sources()
    forced = site.add(*args, "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert "! meter-c does not answer: tried to read holding register 0 of unit 3" in forced.stdout
    assert "; registering it anyway (--force)\n" in forced.stdout
    assert site.sources()["meter-c"]["binding"] == {"bus": bus, "unit": 3}
    assert [d.source for d in load_config(site.config).modbus_tcp[0].devices] == ["meter-c"]


SENSOR_TYPE = {
    "transport": "serial",
    "auth_mode": "bound",
    "decoder": {
        "fields": [
            {"name": "counter", "type": "integer"},
            {"name": "temperature"},
            {"name": "humidity"},
        ]
    },
}


@pytest.mark.slow
def test_a_serial_device_of_an_account_type_gets_its_port(site: Site, tmp_path: Path) -> None:
    type_id = site.new_type(SENSOR_TYPE)
    with PtyPair(tmp_path) as cable, serial_sensor(cable.peer_end, tmp_path, "--interval", "0.05"):
        done = site.add(
            *("--source", "probe-a", "--type", type_id),
            *("--binding", f"port={cable.device_end}", "--baudrate", "9600"),
        )
        taken = site.add(
            "--source", "probe-b", "--type", type_id, "--binding", f"port={cable.device_end}"
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"✓ type {type_id}: t (serial, line frames, delimited)\n" in done.stdout
    assert f"✓ probe-a answers: open {cable.device_end} at 9600 baud and wait 0.5 s" in done.stdout
    assert site.config.read_text() == site.pristine + (
        f'\n[[serial]]\nport = "{cable.device_end}"\nbaudrate = 9600\nsource = "probe-a"\n'
    )
    assert site.sources()["probe-a"]["binding"] == {"port": str(cable.device_end)}
    assert taken.returncode == 2
    assert (
        f"✗ serial port {cable.device_end} is taken: serial[0] reads it for probe-a" in taken.stderr
    )
    unknown = site.add("--source", "x", "--type", "dst_nope", "--binding", "port=/dev/null")
    assert unknown.returncode == 2
    assert "✗ --type dst_nope: no such data-source type in this account" in unknown.stderr


@pytest.mark.slow
def test_an_mqtt_topic_joins_a_broker_that_takes_the_gateways_credentials(
    site: Site, tmp_path: Path
) -> None:
    with Mosquitto(tmp_path / "mosquitto", tls=False) as broker:
        args = ("--type", "builtin:mqtt-json-hmac", "--binding", "topic=site/room-a")
        plain = site.add("--source", "room-a", *args, "--broker", f"127.0.0.1:{broker.port}")
        assert plain.returncode == 1, plain.stdout + plain.stderr
        assert "note: a new [[mqtt]] for 127.0.0.1:" in plain.stdout
        assert plain.stderr.startswith(
            f"✗ room-a does not answer: tried to connect to mqtt://127.0.0.1:{broker.port}: "
            "the broker refused: Not authorized\n"
        )
        # What --binding can't say goes in a section the installer writes.
        (site.root / "mqtt-password").write_text(PASSWORD)
        (site.root / "mqtt-password").chmod(0o600)
        section = tmp_path / "room-a.toml"
        section.write_text(
            f'[[mqtt]]\nhost = "127.0.0.1"\nport = {broker.port}\n'
            f'username = "{USERNAME}"  # the broker\'s\npassword_file = "mqtt-password"\n\n'
            '[[mqtt.subscriptions]]\nsource = "room-a"\ntopic = "site/room-a"\n'
        )
        done = site.add("--source", "room-a", *args, "--section", str(section))
        assert done.returncode == 0, done.stdout + done.stderr
        second = site.add("--source", "room-b", "--type", "builtin:mqtt-json-hmac")
        assert second.returncode == 2 and "missing topic" in second.stderr
        second = site.add(
            *("--source", "room-b", "--type", "builtin:mqtt-json-hmac"),
            *("--binding", "topic=site/room-b"),
        )
        assert second.returncode == 0, second.stdout + second.stderr
    assert (
        f"✓ room-a answers: connect to mqtt://127.0.0.1:{broker.port} as {USERNAME}: "
        "the broker accepted the connection\n"
    ) in done.stdout
    assert "  its key, shown once (configure the device with it): " in done.stdout
    assert site.config.read_text() == site.pristine + (
        f'\n[[mqtt]]\nhost = "127.0.0.1"\nport = {broker.port}\n'
        f'username = "{USERNAME}"  # the broker\'s\npassword_file = "mqtt-password"\n\n'
        '[[mqtt.subscriptions]]\nsource = "room-a"\ntopic = "site/room-a"\n'
        '\n[[mqtt.subscriptions]]\nsource = "room-b"\ntopic = "site/room-b"\n'
    )
    assert site.sources()["room-b"]["binding"] == {"topic": "site/room-b"}


@pytest.mark.slow
def test_a_ble_device_not_seen_needs_force(site: Site) -> None:
    type_id = site.new_type(
        {
            "transport": "ble",
            "auth_mode": "bound",
            "decoder": {"characteristics": [{"uuid": "2a6e"}]},
        }
    )
    args = ("--source", "env-a", "--type", type_id, "--binding", "address=c0:ff:ee:00:00:0a")
    unseen = site.add(*args)
    assert unseen.returncode == 1
    assert "✗ env-a does not answer: tried to scan 0.5 s for C0:FF:EE:00:00:0A: " in unseen.stderr
    forced = site.add(*args, "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert site.config.read_text() == site.pristine + (
        '\n[ble]\n\n[[ble.devices]]\naddress = "C0:FF:EE:00:00:0A"\nsource = "env-a"\n'
    )
    assert site.sources()["env-a"]["binding"] == {"address": "C0:FF:EE:00:00:0A"}


@pytest.mark.slow
def test_a_section_must_bind_only_the_source_and_fit_the_type(site: Site, tmp_path: Path) -> None:
    old = tmp_path / "old.toml"
    old.write_text(
        '[[modbus_tcp]]\nhost = "10.0.0.5"\n\n[[modbus_tcp.devices]]\nsource = "meter-9"\n'
        'unit = 9\n\n[[modbus_tcp.devices.registers]]\nname = "power"\naddress = 4\n'
        'type = "float32"\n'
    )
    moved = site.add("--source", "meter-9", "--type", METER, "--section", str(old))
    assert moved.returncode == 2
    assert moved.stderr.startswith(
        f"✗ --section {old}: modbus_tcp[0].devices[0].registers: the data-source type "
        "(--type) describes how to read and decode the device now; the section only binds it"
    )
    other = tmp_path / "other.toml"
    other.write_text('[[serial]]\nport = "/dev/ttyS7"\nsource = "meter-9"\n')
    wrong = site.add("--source", "meter-9", "--type", METER, "--section", str(other))
    assert wrong.returncode == 2
    assert (
        "✗ serial[0] binds meter-9 to serial, but type builtin:modbus-power-meter reads modbus"
        in (wrong.stderr)
    )
    named = site.add("--source", "meter-8", "--type", METER, "--section", str(other))
    assert named.returncode == 2
    assert (
        "expected one device, with source = 'meter-8' (the name given with --source), "
        "found 'meter-9'" in named.stderr
    )
    binding = tmp_path / "binding.toml"
    binding.write_text(old.read_text().split("\n\n[[modbus_tcp.devices.registers]]")[0] + "\n")
    disagree = site.add(
        *("--source", "meter-9", "--type", METER, "--section", str(binding)),
        *("--binding", "unit=8"),
    )
    assert disagree.returncode == 2
    assert disagree.stderr.startswith(
        "✗ --binding unit=8, but modbus_tcp[0].devices[0] binds meter-9 at unit 9\n"
    )
    foreign = site.add(
        *("--source", "meter-9", "--type", METER, "--section", str(binding)),
        *("--binding", "port=/dev/ttyS7"),
    )
    assert foreign.returncode == 2
    assert "✗ --binding port: a modbus source is bound by bus and unit" in foreign.stderr
    assert site.config.read_text() == site.pristine
    assert not {"meter-8", "meter-9"} & set(site.sources())
    assert not list(site.root.glob(".*candidate")), "no candidate file left behind"


@pytest.mark.slow
def test_the_installers_token_is_needed_and_checked(site: Site, meters: ModbusServerThread) -> None:
    args = [
        *("devices", "add", "--root", str(site.root), "--source", "meter-t"),
        *("--type", METER, "--binding", f"bus=modbus-tcp://127.0.0.1:{meters.port}"),
        *("--binding", "unit=1"),
    ]
    os.environ.pop("EDGEWARD_TOKEN", None)
    none = edgeward(*args)
    assert none.returncode == 2 and "the installer's token" in none.stderr
    bad = site.root.parent / "bad-token"
    bad.write_text("ewt_" + "x" * 36)
    refused = edgeward(*args, "--token-file", str(bad))
    assert refused.returncode == 4 and "refused (401" in refused.stderr
    assert site.config.read_text() == site.pristine
