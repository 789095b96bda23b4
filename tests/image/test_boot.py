"""The image booted under systemd-nspawn: real systemd runs the real units.

Unprovisioned it says how to provision and leaves the gateway off; once a
config is there the gateway starts as its own unprivileged user with only
CAP_NET_ADMIN, becomes active only after it told systemd READY=1, and is
restarted when it dies. The container's root is an overlay on a tmpfs
(``--volatile=overlay``), so the cached rootfs is never changed; it has a
network of its own, so its mosquitto on 1883 clashes with nothing on the host.
"""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.image.fake_versions import make_wheel
from tests.image.rootfs import BUILD_TIMEOUT, ids
from tests.peers import require_program, wait_until

# One cached rootfs, mounted into (chroot) or booted (nspawn): one module at a time.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(BUILD_TIMEOUT + 300),
    pytest.mark.exclusive("image"),
]

CAP_NET_ADMIN = 1 << 12
CONFIG_PATH = "/etc/edgeward/gateway.toml"
CONFIG = """\
[gateway]
id = "gw-boot"
data_dir = "/var/lib/edgeward"

[cloud]
url = "http://10.99.0.1:8080"
credential_file = "/etc/edgeward/credential"

[[modbus_tcp]]
host = "127.0.0.1"
port = 502

[[modbus_tcp.devices]]
source = "meter-1"
unit = 1
poll_interval = 1.0
"""


class Container:
    def __init__(self, process: subprocess.Popen[bytes], console: Path) -> None:
        self.process = process
        self.console = console
        self.init_pid = 0

    def find_init(self) -> bool:
        """The container's systemd: the first descendant of nspawn named systemd."""
        assert self.process.poll() is None, f"nspawn exited:\n{self.console_text()}"
        pending = [self.process.pid]
        while pending:
            pid = pending.pop()
            try:
                if Path(f"/proc/{pid}/comm").read_text().strip() == "systemd":
                    self.init_pid = pid
                    return True
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                continue
            pending += [int(child) for child in children]
        return False

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["nsenter", "-t", str(self.init_pid), "-a", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def state(self, unit: str, prop: str) -> str:
        return self.run("systemctl", "show", "-p", prop, "--value", unit).stdout.strip()

    def console_text(self) -> str:
        return self.console.read_text(errors="replace")


@pytest.fixture(scope="module")
def container(rootfs: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    nspawn = require_program("systemd-nspawn", "systemd-container")
    require_program("nsenter", "util-linux")
    console = tmp_path_factory.mktemp("boot") / "console.log"
    # Not registered with a machined: the host needs no systemd of its own.
    options = ["--volatile=overlay", "--private-network", "--register=no", "--keep-unit"]
    with console.open("wb") as out:
        process = subprocess.Popen(
            [nspawn, "-D", str(rootfs), *options, "--boot"],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    booted = Container(process, console)
    try:
        wait_until(booted.find_init, "the container's systemd", timeout=60)
        wait_until(
            lambda: booted.state("edgeward-firstboot.service", "ActiveState") == "active",
            "edgeward-firstboot.service to run",
            timeout=120,
        )
        yield booted
    finally:
        if booted.init_pid:
            booted.run("systemctl", "poweroff")
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_unprovisioned_it_says_how_to_provision_and_keeps_the_gateway_off(
    container: Container,
) -> None:
    console = container.console_text()
    assert "This gateway is waiting for provisioning" in console
    assert "edgeward provision --cloud URL --claim CODE" in console
    assert container.state("edgeward-gateway.service", "ConditionResult") == "no"
    assert container.state("edgeward-gateway.service", "ActiveState") == "inactive"
    assert container.state("mosquitto.service", "ActiveState") == "active"
    assert container.run("systemctl", "--failed", "--no-legend").stdout.strip() == ""


def provision(container: Container) -> None:
    """What `edgeward provision` leaves behind, as far as the gateway unit cares."""
    container.run("sh", "-c", f"cat > {CONFIG_PATH}", stdin=CONFIG)
    # Provisioning's contract: secrets 0600, owned by the user that reads them.
    written = container.run(
        "sh",
        "-c",
        "umask 077 && printf ewg_boot-test > /etc/edgeward/credential"
        " && chown edgeward:edgeward /etc/edgeward/credential",
    )
    assert written.returncode == 0, written.stderr


def test_provisioned_the_gateway_runs_locked_down_and_is_restarted(
    container: Container, rootfs: Path
) -> None:
    provision(container)
    started = container.run("systemctl", "start", "edgeward-gateway.service")
    assert started.returncode == 0, container.run("journalctl", "-u", "edgeward-gateway").stdout
    # Type=notify: "active" means the runtime sent READY=1.
    assert container.state("edgeward-gateway.service", "ActiveState") == "active"
    assert container.state("edgeward-gateway.service", "WatchdogUSec") == "1min"
    status = container.run("edgeward", "gateway", "status", "--config", CONFIG_PATH)
    assert status.returncode == 0, status.stdout + status.stderr

    pid = container.state("edgeward-gateway.service", "MainPID")
    fields = dict(
        line.split(":\t", 1)
        for line in container.run("cat", f"/proc/{pid}/status").stdout.splitlines()
        if ":\t" in line
    )
    assert fields["Uid"].split()[0] == str(ids(rootfs, "passwd")["edgeward"])
    assert int(fields["CapEff"], 16) == CAP_NET_ADMIN
    assert int(fields["CapBnd"], 16) == CAP_NET_ADMIN
    assert fields["NoNewPrivs"].strip() == "1"

    container.run("systemctl", "kill", "--signal=KILL", "edgeward-gateway.service")
    wait_until(
        lambda: (
            container.state("edgeward-gateway.service", "NRestarts") == "1"
            and container.state("edgeward-gateway.service", "ActiveState") == "active"
        ),
        "systemd to restart the killed gateway",
        timeout=60,
    )
    assert container.state("edgeward-gateway.service", "MainPID") != pid


def test_an_update_failing_its_health_check_rolls_back_under_systemd(
    container: Container, tmp_path: Path
) -> None:
    """The image's edgeward-update with the real systemctl: 0.0.1-bad fails check-config,
    the image's own version comes back, restarted and healthy."""
    provision(container)
    assert container.run("systemctl", "start", "edgeward-gateway.service").returncode == 0
    original = container.run("readlink", "/opt/edgeward/current").stdout.strip()
    wheel = make_wheel(tmp_path, "0.0.1.dev0", behaviour="bad-config")
    copied = container.run(
        "sh",
        "-c",
        f"mkdir -p /tmp/wheelhouse && base64 -d > /tmp/wheelhouse/{wheel.name}",
        stdin=base64.b64encode(wheel.read_bytes()).decode(),
    )
    assert copied.returncode == 0, copied.stderr
    before = container.state("edgeward-gateway.service", "MainPID")

    update = container.run("edgeward-update", "install", "/tmp/wheelhouse")
    assert update.returncode == 1, update.stdout + update.stderr
    assert "0.0.1.dev0 failed its health check" in update.stderr
    assert f"rolled back to {original}" in update.stderr
    assert container.run("readlink", "/opt/edgeward/current").stdout.strip() == original
    # Restarted into the old version, which told systemd READY=1 again.
    assert container.state("edgeward-gateway.service", "ActiveState") == "active"
    assert container.state("edgeward-gateway.service", "MainPID") != before
    listed = container.run("edgeward-update", "list").stdout.split("\n")
    assert f"* {original}" in listed
