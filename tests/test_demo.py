"""``edgeward demo`` shows readings of every simulated device arriving and leaves nothing behind.

The test machine has socat and mosquitto, so the serial and MQTT sensors run
too; BLE is always left out, with the reason printed. As root the gateway is
provisioned through a WireGuard tunnel between two network namespaces;
without root's capabilities (``setpriv`` drops them all) it is provisioned
the same way without the tunnel, and the demo says so.
"""

from __future__ import annotations

import ipaddress
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from edgeward.harness.network_namespaces import HUB_ADDRESS, TUNNEL_POOL
from tests.peers import require_program
from tests.peers.wireguard import require_wireguard

# One wireguard-go hub named ewhub0, one tunnel named edgeward0: their control
# sockets in /var/run/wireguard are the machine's, so one such module at a time.
pytestmark = [pytest.mark.slow, pytest.mark.exclusive("wireguard")]


def processes_mentioning(text: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{proc.name}: {cmdline}")
    return found


def run_demo(*prefix: str) -> subprocess.CompletedProcess[str]:
    """The demo for 6 s of readings, with what it printed; checks what every run shows."""
    result = subprocess.run(
        [*prefix, sys.executable, "-m", "edgeward", "demo", "--seconds", "6"],
        capture_output=True,
        text=True,
        timeout=150,
        env={**os.environ, "COLUMNS": "160"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    workdir = re.search(r"Edgeward demo in (\S+)", result.stdout)
    arrived = re.search(r"(\d+) readings arrived in the cloud", result.stdout)
    assert workdir and arrived, result.stdout
    received = {
        source: int(count)
        for source, count in re.findall(r"^  (\S+): (\d+) readings$", result.stdout, re.M)
    }
    assert set(received) == {"meter-1", "meter-2", "probe-1", "room-1"}, result.stdout
    assert all(count >= 2 for count in received.values()), received
    assert int(arrived.group(1)) == sum(received.values())
    assert "BLE left out" in result.stdout
    assert "claim code created" in result.stdout, "provisioned with a claim code"
    assert "left out: socat" not in result.stdout and "left out: mosquitto" not in result.stdout
    assert not Path(workdir.group(1)).exists(), "the temporary directory is removed"
    assert processes_mentioning(workdir.group(1)) == [], "no child process is left running"
    return result


def test_demo_provisions_through_the_tunnel_as_root() -> None:
    require_wireguard()
    output = run_demo().stdout
    assert "tunnel left out" not in output
    assert "[3/4] ✓ tunnel edgeward0 up" in output
    assert f"[4/4] ✓ cloud answers through the tunnel at http://{HUB_ADDRESS}:" in output
    seen = re.search(r"the cloud hears the gateway at its tunnel address ([0-9.]+):", output)
    assert seen and ipaddress.ip_address(seen.group(1)) in ipaddress.ip_network(TUNNEL_POOL)
    assert_network_removed(output)


def assert_network_removed(output: str) -> None:
    """The demo's namespaces, and the WireGuard daemons in them, are gone."""
    made = re.findall(r"network namespaces: cloud (\S+) .*, gateway (\S+) ", output)
    assert made, output
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not set(made[0]) & set(re.findall(r"^(\S+)", left, re.M)), "namespaces removed"
    assert processes_mentioning("wireguard-go -f ewhub0") == [], "the hub is stopped"
    if "tunnel edgeward0 up (wireguard-go)" in output:  # not with kernel WireGuard
        assert processes_mentioning("wireguard-go edgeward0") == [], "the tunnel's daemon ended"


def test_ctrl_c_stops_the_tunnelled_demo_and_leaves_nothing() -> None:
    require_wireguard()
    demo = subprocess.Popen(
        [sys.executable, "-m", "edgeward", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "160"},
    )
    assert demo.stdout is not None
    lines: list[str] = []
    try:
        for line in demo.stdout:  # ends when the demo exits, failed or not
            lines.append(line)
            if "✓ gateway running" in line:
                demo.send_signal(signal.SIGINT)
                break
        rest, _ = demo.communicate(timeout=120)
    finally:
        if demo.poll() is None:
            demo.kill()
    output = "".join(lines) + rest
    assert demo.returncode == 0, output
    assert "stopping…" in output
    workdir = re.search(r"Edgeward demo in (\S+)", output)
    assert workdir, output
    assert not Path(workdir.group(1)).exists(), "the temporary directory is removed"
    assert processes_mentioning(workdir.group(1)) == [], "no child process is left running"
    assert_network_removed(output)


def test_demo_without_root_provisions_without_the_tunnel_and_says_so() -> None:
    setpriv = require_program("setpriv", "util-linux")
    output = run_demo(setpriv, "--inh-caps=-all", "--bounding-set=-all").stdout
    assert "tunnel left out: not root" in output
    assert "[4/4] ✓ cloud answers directly" in output
    assert "the cloud heard the gateway from 127.0.0.1 (no tunnel)" in output
