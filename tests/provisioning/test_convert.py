"""``edgeward devices convert`` on an old gateway.toml with comments: each type printed
once, the bindings that stay, the steps; ``--write`` keeps every other line.

The old file holds one section of each kind the gateway refuses now: Modbus
devices with registers as sections and inline (sharing one map), a serial port
with stx/etx framing, a request and fields, an MQTT subscription's fields, and
a BLE device with two characteristics (two sources then, one now)."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from edgeward.gateway.config.loader import load_config
from edgeward.gateway.config.toml_writer import write_secret
from edgeward.provisioning.convert import convert, spec_problem
from edgeward.provisioning.convert_command import run_convert
from edgeward.provisioning.gateway_toml import read

OLD = """\
# Site 12, panel B: edited by hand
[gateway]
id = "gw-1a2b3c"
data_dir = "data"

[cloud]
url = "https://cloud.example"
credential_file = "credential"

# the meters on the panel's gateway
[[modbus_tcp]]
host = "10.0.0.5"
port = 0x1F6  # 502

[[modbus_tcp.devices]]
source = "meter-1"  # left
unit = 0x01
poll_interval = 2.0

[[modbus_tcp.devices.registers]]
name = "voltage"
address = 0x00
type = "float32"
word_order = "little"

[[modbus_tcp.devices.registers]]
name = "energy"
address = 6
type = "uint32"
scale = 0.01

[[modbus_tcp.devices]]
source = "meter-2"  # right
unit = 2
registers = [
  { name = "voltage", address = 0, type = "float32", word_order = "little" },
  { name = "energy", address = 6, type = "uint32", scale = 0.01 },
]

# the probe on the wall
[[serial]]
port = "/dev/ttyUSB0"
baudrate = 19200
source = "probe-1"
framing = "stx_etx"
checksum = "sum"
request = "R\\r"
poll_interval = 5.0
fields = [{ name = "counter", type = "int" }, { name = "temperature" }]

[[mqtt]]
host = "10.0.0.7"

[[mqtt.subscriptions]]
source = "room-1"
topic = "site/room-1"
fields = [{ name = "temperature", path = "t" }, { name = "humidity", path = "h", type = "float" }]

[ble]
adapter = "hci0"

[[ble.devices]]
address = "c0:ff:ee:00:00:01"
service_uuid = "181a"

[[ble.devices.characteristics]]
source = "env-1-temperature"
uuid = "2a6e"
fields = [{ name = "temperature", offset = 0, type = "int16", scale = 0.01 }]

[[ble.devices.characteristics]]
source = "env-1-humidity"
uuid = "2a6f"
mode = "poll"
poll_interval = 30.0
fields = [{ name = "humidity", offset = 0, type = "uint16", scale = 0.01 }]

# end of devices
"""

# What it prints for OLD: long lines (the curl commands), so in a file of its own.
PRINTED = (Path(__file__).parent / "files" / "convert-printed.txt").read_text()

CONVERTED = """\
# Site 12, panel B: edited by hand
[gateway]
id = "gw-1a2b3c"
data_dir = "data"

[cloud]
url = "https://cloud.example"
credential_file = "credential"

# the meters on the panel's gateway
[[modbus_tcp]]
host = "10.0.0.5"
port = 0x1F6  # 502

[[modbus_tcp.devices]]
source = "meter-1"  # left
unit = 0x01
poll_interval = 2.0

[[modbus_tcp.devices]]
source = "meter-2"  # right
unit = 2

# the probe on the wall
[[serial]]
port = "/dev/ttyUSB0"
baudrate = 19200
source = "probe-1"
poll_interval = 5.0

[[mqtt]]
host = "10.0.0.7"

[[mqtt.subscriptions]]
source = "room-1"
topic = "site/room-1"

[ble]
adapter = "hci0"

[[ble.devices]]
address = "c0:ff:ee:00:00:01"
service_uuid = "181a"
source = "env-1-temperature"
poll_interval = 30.0

# end of devices
"""


@pytest.fixture
def old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write_secret(tmp_path / "credential", "ewg_example")
    config = tmp_path / "gateway.toml"
    config.write_text(OLD)
    config.chmod(0o640)
    return config


def printed(config: Path, *, write_file: bool = False) -> str:
    lines: list[str] = []
    run_convert(Path(config.name), write_file=write_file, say=lines.append)
    return "\n".join(lines) + "\n"


def test_each_type_is_printed_once_with_the_bindings_that_stay_and_the_steps(
    old_file: Path,
) -> None:
    assert printed(old_file) == PRINTED
    assert old_file.read_text() == OLD, "without --write nothing is written"
    assert not old_file.with_name("gateway.toml.bak").exists()


def test_the_printed_types_are_in_todays_language(old_file: Path) -> None:
    moved = convert(read(old_file))
    assert [item.source for item in moved] == [
        "meter-1",
        "meter-2",
        "probe-1",
        "room-1",
        "env-1-temperature",
    ]
    assert [spec_problem(item.spec) for item in moved] == [None] * 5


def test_write_keeps_everything_else_and_a_backup(old_file: Path) -> None:
    assert printed(old_file, write_file=True) == PRINTED.replace(
        "3. Rewrite gateway.toml without them (the old file is kept as gateway.toml.bak):\n"
        "   edgeward devices convert --config gateway.toml --write\n",
        "3. gateway.toml is rewritten without them; the old file is gateway.toml.bak.\n",
    )
    assert old_file.read_text() == CONVERTED
    backup = old_file.with_name("gateway.toml.bak")
    assert backup.read_text() == OLD
    assert stat.S_IMODE(backup.stat().st_mode) == stat.S_IMODE(old_file.stat().st_mode) == 0o640
    config = load_config(old_file)
    assert [d.source for d in config.modbus_tcp[0].devices] == ["meter-1", "meter-2"]
    assert [d.unit for d in config.modbus_tcp[0].devices] == [1, 2]
    assert [s.source for s in config.serial] == ["probe-1"]
    assert config.ble is not None and [d.source for d in config.ble.devices] == [
        "env-1-temperature"
    ]
    assert config.ble.devices[0].poll_interval == 30.0
    assert printed(old_file) == (
        "gateway.toml: nothing to convert: every device section only binds its source\n"
    )


def test_write_refuses_to_overwrite_a_backup(old_file: Path) -> None:
    old_file.with_name("gateway.toml.bak").write_text("an older backup\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "edgeward",
            "devices",
            "convert",
            "--config",
            str(old_file),
            "--write",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"✗ {old_file}.bak exists: move it aside first" in done.stderr
    assert old_file.read_text() == OLD
    assert old_file.with_name("gateway.toml.bak").read_text() == "an older backup\n"
