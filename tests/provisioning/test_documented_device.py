"""The README's and the installer guide's `devices add` example, run end to end.

The documented command is taken from the page itself, its meter's address
swapped for a local pymodbus server serving the built-in meter's registers;
then the gateway runs with the gateway.toml it wrote, and the meter's exact
values are read back from the cloud. Before the type held the register map,
this example gave a meter shown up whose every reading was refused.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from tests.docs.pages import README, blocks
from tests.peers.cloud import CloudServer
from tests.peers.gateway import gateway_process
from tests.peers.modbus import ModbusServerThread
from tests.provisioning.conftest import edgeward, provisioned

DOCUMENTED_ENDPOINT = "10.0.0.5:502"
# The built-in meter type's own example: 230.5 V, 4.25 A, 979.625 W, 123456 Wh, 50.01 Hz.
METER_WORDS = [0x4366, 0x8000, 0x4088, 0x0000, 0x4474, 0xE800, 0x0001, 0xE240, 0x1389]
EXPECTED = {
    "voltage": 230.5,
    "current": 4.25,
    "power": 979.625,
    "energy": 123456,
    "frequency": 50.01,
}


def documented_add(page: Path) -> list[str]:
    """The `edgeward devices add` command of ``page``'s first shell block that has one."""
    for block in blocks("sh"):
        if block.path != page:
            continue
        for command in block.text.replace("\\\n", " ").splitlines():
            if command.startswith("edgeward devices add "):
                return shlex.split(command)
    raise AssertionError(f"{page} shows no `edgeward devices add`")


@pytest.mark.parametrize("page", [README, README.parent / "docs/installers/devices.md"])
def test_the_documented_devices_add_stores_the_meters_readings(
    page: Path, served_cloud: CloudServer, tmp_path: Path
) -> None:
    root = tmp_path / "etc"
    provisioned(served_cloud, root)
    token_file = tmp_path / "installer-token"
    token_file.write_text(served_cloud.token_with("data-sources:POST", "data-source-types:GET"))
    token_file.chmod(0o600)
    reader = served_cloud.token_with("readings:GET")
    with ModbusServerThread([9]) as meter:
        meter.update(lambda bank: bank.write(9, 0, METER_WORDS))
        command = documented_add(page)
        assert f"bus=modbus-tcp://{DOCUMENTED_ENDPOINT}" in command
        # The two pages' sources share this module's account: each gets its own name.
        local = [
            word.replace(DOCUMENTED_ENDPOINT, f"127.0.0.1:{meter.port}")
            .replace("/root/installer-token", str(token_file))
            .replace("meter-9", f"meter-9-{page.stem.lower()}")
            for word in command[1:]
        ]
        done = edgeward(*local, "--root", str(root))
        assert done.returncode == 0, done.stdout + done.stderr
        source = local[local.index("--source") + 1]
        with gateway_process(root / "gateway.toml") as process:
            process.wait_for(
                lambda: bool(served_cloud.all_readings(reader, source)),
                f"a reading of {source} in the cloud",
            )
    (reading, *_) = served_cloud.all_readings(reader, source)
    assert reading["values"] == EXPECTED
