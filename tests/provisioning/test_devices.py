"""``edgeward devices scan`` against real pymodbus servers, ``edgeward devices add``
against the served cloud with the installer's token."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from edgeward.gateway.config.loader import load_config
from tests.peers.cloud import CloudServer
from tests.peers.modbus import ModbusServerThread
from tests.provisioning.conftest import edgeward, provisioned


def test_scan_finds_the_units_that_answer() -> None:
    with ModbusServerThread([1, 3]) as server:
        endpoint = f"127.0.0.1:{server.port}"
        done = edgeward("devices", "scan", "--modbus-tcp", endpoint, "--units", "1-4")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"modbus-tcp://{endpoint}: 2 units answer" in done.stdout
    assert "unit 1: answers" in done.stdout and "unit 3: answers" in done.stdout
    assert "unit 2:" not in done.stdout and "unit 4:" not in done.stdout
    assert "serial ports:" in done.stdout


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


@pytest.mark.slow
def test_add_registers_a_source_of_this_gateway(served_cloud: CloudServer, tmp_path: Path) -> None:
    root = tmp_path / "etc"
    provisioned(served_cloud, root)
    token_file = tmp_path / "token"
    token_file.write_text(served_cloud.token_with("data-sources:POST", name="installer"))
    token_file.chmod(0o600)
    args = [
        *("devices", "add", "--root", str(root), "--source", "meter-9"),
        *("--type", "builtin:modbus-power-meter", "--binding", "bus=modbus-tcp://10.0.0.5:502"),
        *("--binding", "unit=9"),
    ]
    done = edgeward(*args, "--token-file", str(token_file))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "✓ data source meter-9" in done.stdout
    gateway_id = (root / "gateway.toml").read_text().split('id = "')[1].split('"')[0]
    with served_cloud.client(served_cloud.account.owner_token) as owner:
        sources = owner.get("/v1/data-sources").json()["items"]
    added = next(source for source in sources if source["name"] == "meter-9")
    assert added["gateway_id"] == gateway_id and added["binding"]["unit"] == 9
    os.environ.pop("EDGEWARD_TOKEN", None)
    assert edgeward(*args).returncode == 2, "no token: usage error"
    token_file.write_text("ewt_" + "x" * 36)
    refused = edgeward(*args, "--token-file", str(token_file))
    assert refused.returncode == 4 and "refused (401" in refused.stderr


def _section(path: Path, source: str, unit: int, value_type: str = "float32") -> Path:
    path.write_text(
        '[[modbus_tcp]]\nhost = "10.0.0.5"\nport = 502\n\n[[modbus_tcp.devices]]\n'
        f'source = "{source}"\nunit = {unit}\n\n[[modbus_tcp.devices.registers]]\n'
        f'name = "power"\naddress = 4\ntype = "{value_type}"\n'
    )
    return path


@pytest.mark.slow
def test_add_writes_the_device_section_checked_by_the_gateway(
    served_cloud: CloudServer, tmp_path: Path
) -> None:
    root = tmp_path / "etc"
    provisioned(served_cloud, root)
    config = root / "gateway.toml"
    before = load_config(config)
    token_file = tmp_path / "token"
    token_file.write_text(served_cloud.token_with("data-sources:POST", name="installer"))
    token_file.chmod(0o600)

    def add(source: str, section: Path) -> subprocess.CompletedProcess[str]:
        return edgeward(
            *("devices", "add", "--root", str(root), "--source", source),
            *("--type", "builtin:modbus-power-meter", "--binding", "bus=modbus-tcp://10.0.0.5:502"),
            *("--binding", f"unit={source[-1]}", "--token-file", str(token_file)),
            *("--section", str(section)),
        )

    for source in ("meter-1", "meter-2"):
        done = add(source, _section(tmp_path / f"{source}.toml", source, int(source[-1])))
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"its section from {tmp_path / source}.toml added" in done.stdout
    after = load_config(config)
    assert (after.gateway_id, after.cloud, after.data_dir) == (
        before.gateway_id,
        before.cloud,
        before.data_dir,
    ), "the rest of gateway.toml is kept"
    [endpoint] = after.modbus_tcp
    assert [d.source for d in endpoint.devices] == ["meter-1", "meter-2"], "one endpoint"

    kept = config.read_bytes()
    bad = add("meter-3", _section(tmp_path / "bad.toml", "meter-3", 3, value_type="float99"))
    assert bad.returncode == 2, bad.stdout + bad.stderr
    assert "would not load: modbus_tcp[0].devices[2].registers[0].type" in bad.stderr, bad.stderr
    mismatched = add("meter-4", _section(tmp_path / "other.toml", "meter-9", 4))
    assert mismatched.returncode == 2 and "source = 'meter-4'" in mismatched.stderr
    assert config.read_bytes() == kept, "a refused section writes nothing"
    assert not list(root.glob(".*candidate")), "no candidate file left behind"
    with served_cloud.client(served_cloud.account.owner_token) as owner:
        names = {s["name"] for s in owner.get("/v1/data-sources").json()["items"]}
    assert {"meter-1", "meter-2"} <= names and not {"meter-3", "meter-4"} & names
