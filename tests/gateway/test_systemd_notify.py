"""sd_notify over a real unix datagram socket, and the real gateway program telling
systemd it is ready and alive at the watchdog's pace."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgeward.drivers.simulators.power_meters import METER_REGISTERS
from edgeward.gateway.health.systemd_notify import notify, watchdog_interval
from edgeward.harness.processes import ChildProcess
from tests.peers.cloud import RegisteredGateway
from tests.peers.gateway import write_gateway_config
from tests.peers.mosquitto import free_port


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """A datagram socket bound at a path, as systemd binds $NOTIFY_SOCKET."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        path = tmp_path / "notify"
        sock.bind(str(path))
        sock.settimeout(30)
        yield sock, str(path)


def test_notify_sends_one_datagram_to_a_path_socket(
    listener: tuple[socket.socket, str],
) -> None:
    sock, path = listener
    assert notify("READY=1\nSTATUS=up", {"NOTIFY_SOCKET": path})
    assert sock.recv(4096) == b"READY=1\nSTATUS=up"


def test_notify_reaches_an_abstract_namespace_socket() -> None:
    name = f"edgeward-test-{secrets.token_hex(8)}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        sock.settimeout(30)
        assert notify("WATCHDOG=1", {"NOTIFY_SOCKET": f"@{name}"})
        assert sock.recv(4096) == b"WATCHDOG=1"


def test_without_a_service_manager_notify_does_nothing() -> None:
    assert not notify("READY=1", {})
    assert not notify("READY=1", {"NOTIFY_SOCKET": ""})


def test_a_socket_that_is_gone_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert not notify("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert "sd_notify to" in caplog.text


def test_watchdog_interval_is_half_the_timeout_and_only_for_this_process() -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "60000000"}) == 30.0
    mine = {"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": str(os.getpid())}
    assert watchdog_interval(mine) == 1.0
    assert watchdog_interval({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "soon"}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "0"}) is None
    assert watchdog_interval({}) is None


def test_the_gateway_says_ready_then_pings_at_the_watchdog_pace(
    tmp_path: Path, listener: tuple[socket.socket, str]
) -> None:
    """status_interval is an hour: pings this soon can only come from WATCHDOG_USEC."""
    sock, path = listener
    gateway = RegisteredGateway("gw-notify", "ewg_not-used")
    # No cloud and no meter listening: the gateway runs degraded, and still says it is alive.
    config = write_gateway_config(
        tmp_path, f"http://127.0.0.1:{free_port()}", gateway, free_port(), [_meter()]
    )
    config.write_text(config.read_text() + "\n[health]\nstatus_interval = 3600\n")
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"}
    args = ["gateway", "run", "--config", str(config)]
    with ChildProcess("gateway", args, tmp_path / "gateway.log", env=env):
        messages = [sock.recv(4096) for _ in range(3)]
    assert all(message == b"READY=1\nWATCHDOG=1" for message in messages), messages


def _meter() -> dict[str, object]:
    return {
        "source": "meter-1",
        "unit": 1,
        "poll_interval": 1.0,
        "registers": METER_REGISTERS,
    }
