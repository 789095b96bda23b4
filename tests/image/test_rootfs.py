"""The built root filesystem: units verify, Edgeward runs inside it, the service
user and the secrets directory are as the hardening assumes."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import pytest

from tests.image.rootfs import BUILD_TIMEOUT, REPO, Chroot, ids
from tests.peers.cloud import RegisteredGateway
from tests.peers.gateway import write_gateway_config

# One cached rootfs, mounted into (chroot) or booted (nspawn): one module at a time.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(BUILD_TIMEOUT + 300),
    pytest.mark.exclusive("image"),
]

OUR_UNITS = ["edgeward-gateway.service", "edgeward-firstboot.service", "edgeward-tunnel.service"]
# The Debian units the image enables and ours depend on.
ENABLED_UNITS = [
    "mosquitto.service",
    "bluetooth.service",
    "systemd-networkd.service",
    "systemd-timesyncd.service",
    "systemd-time-wait-sync.service",
]


def version() -> str:
    with (REPO / "pyproject.toml").open("rb") as file:
        return str(tomllib.load(file)["project"]["version"])


def test_every_unit_verifies_inside_the_rootfs(chroot: Chroot) -> None:
    done = chroot.run("systemd-analyze", "verify", "--man=no", *OUR_UNITS, *ENABLED_UNITS)
    # Any finding (unknown key, missing program, bad dependency) is printed: none allowed.
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_the_gateway_unit_is_locked_down(chroot: Chroot) -> None:
    """systemd's own exposure score for the unit, offline: 2.1 of 10 here, held under 2.5."""
    unit = "/usr/lib/systemd/system/edgeward-gateway.service"
    done = chroot.run("systemd-analyze", "security", "--offline=yes", "--threshold=25", unit)
    assert done.returncode == 0, done.stdout + done.stderr
    text = (chroot.root / unit.lstrip("/")).read_text()
    for line in [
        "Type=notify",
        "User=edgeward",
        "ProtectSystem=strict",
        "StateDirectory=edgeward",
        "ReadOnlyPaths=/etc/edgeward",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=CAP_NET_ADMIN",
        "AmbientCapabilities=CAP_NET_ADMIN",
        "SupplementaryGroups=dialout bluetooth",
        "Restart=on-failure",
    ]:
        assert line in text.splitlines(), line


def test_edgeward_runs_inside_and_checks_its_config(chroot: Chroot) -> None:
    done = chroot.run("/usr/local/bin/edgeward", "--version")
    assert (done.returncode, done.stdout.strip()) == (0, f"edgeward {version()}")
    with chroot.scratch() as (host, inside):
        gateway = RegisteredGateway("gw-image", "ewg_image-test")
        config = write_gateway_config(host, "http://10.0.0.1:8080", gateway, 502, [_meter()])
        good = chroot.run(
            "/opt/edgeward/current/bin/edgeward",
            "gateway",
            "check-config",
            "--config",
            f"{inside}/gateway/gateway.toml",
        )
        assert good.returncode == 0, good.stderr
        assert "OK (gateway gw-image, 1 data sources)" in good.stdout
        config.write_text(config.read_text().replace("\nunit = 1\n", "\nunit = 999\n"))
        bad = chroot.run(
            "/opt/edgeward/current/bin/edgeward",
            "gateway",
            "check-config",
            "--config",
            f"{inside}/gateway/gateway.toml",
        )
        assert bad.returncode == 2, bad.stdout + bad.stderr
        assert "devices[0].unit: expected an integer from 0 to 255, found 999" in bad.stderr


def test_first_boot_tells_how_to_provision(chroot: Chroot) -> None:
    done = chroot.run("/usr/local/sbin/edgeward-firstboot")
    assert done.returncode == 0, done.stderr
    assert "This gateway is waiting for provisioning" in done.stdout
    assert "edgeward provision --cloud URL --claim CODE" in done.stdout
    assert f"edgeward {version()}" in done.stdout


def test_the_service_user_has_no_login_and_only_its_device_groups(rootfs: Path) -> None:
    passwd = {line.split(":")[0]: line.split(":") for line in _lines(rootfs, "etc/passwd")}
    name, _, uid, gid, _, home, shell = passwd["edgeward"]
    assert int(uid) < 1000  # a system user
    assert (home, shell) == ("/var/lib/edgeward", "/usr/sbin/nologin")
    groups = {
        line.split(":")[0]: line.split(":")[3].split(",") for line in _lines(rootfs, "etc/group")
    }
    member_of = sorted(group for group, members in groups.items() if name in members)
    assert member_of == ["bluetooth", "dialout"]
    assert ids(rootfs, "group")["edgeward"] == int(gid)
    shadow = {line.split(":")[0]: line.split(":")[1] for line in _lines(rootfs, "etc/shadow")}
    assert shadow["edgeward"] in ("!", "!*", "*")  # no password either


def test_the_secrets_directory_is_closed_to_others(rootfs: Path) -> None:
    users, groups = ids(rootfs, "passwd"), ids(rootfs, "group")
    expected = {
        "etc/edgeward": (0o750, users["root"], groups["edgeward"]),
        "etc/edgeward/wireguard": (0o700, users["root"], groups["root"]),
        "var/lib/edgeward": (0o750, users["edgeward"], groups["edgeward"]),
        "etc/mosquitto/edgeward.passwd": (0o640, users["mosquitto"], groups["mosquitto"]),
    }
    for path, want in expected.items():
        info = (rootfs / path).lstat()
        assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == want, path


def test_the_clock_is_synchronised_before_the_gateway_starts(rootfs: Path) -> None:
    wants = rootfs / "etc/systemd/system/sysinit.target.wants"
    assert (wants / "systemd-time-wait-sync.service").is_symlink()
    unit = (rootfs / "usr/lib/systemd/system/edgeward-gateway.service").read_text()
    after = [line for line in unit.splitlines() if line.startswith(("After=", "Wants="))]
    assert all("time-sync.target" in line for line in after), after
    bounded = rootfs / "usr/lib/systemd/system/systemd-time-wait-sync.service.d/50-edgeward.conf"
    assert "TimeoutStartSec=5min" in bounded.read_text().splitlines()
    journald = (rootfs / "usr/lib/systemd/journald.conf.d/50-edgeward.conf").read_text()
    assert "SystemMaxUse=64M" in journald.splitlines()
    rules = (rootfs / "usr/lib/udev/rules.d/70-edgeward-serial.rules").read_text()
    assert 'SYMLINK+="edgeward/serial-$env{ID_SERIAL_SHORT}"' in rules


def _lines(rootfs: Path, path: str) -> list[str]:
    return [line for line in (rootfs / path).read_text().splitlines() if line]


def _meter() -> dict[str, object]:
    from edgeward.drivers.simulators.power_meters import METER_REGISTERS

    return {"source": "meter-1", "unit": 1, "poll_interval": 1.0, "registers": METER_REGISTERS}
