"""The image's mosquitto, run from the rootfs with the image's drop-in, refuses
anonymous clients and lets in a user of the password file.

It runs in a network namespace of its own (so its listener on 1883 clashes with
nothing on the host) and a mount namespace of its own (the test's password file
is bind-mounted over the image's empty one only there; the cached rootfs is
never changed). Clients are the image's mosquitto_pub, in the same namespace.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.image.rootfs import BUILD_TIMEOUT, Chroot, ids
from tests.peers import require_program, wait_until

# One cached rootfs, mounted into (chroot) or booted (nspawn): one module at a time.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(BUILD_TIMEOUT + 300),
    pytest.mark.exclusive("image"),
]

DROP_IN = "/etc/mosquitto/conf.d/edgeward.conf"
IMAGE_PASSWORDS = "/etc/mosquitto/edgeward.passwd"
USER, PASSWORD = "device-1", "image-test-pass"


@pytest.fixture
def broker(chroot: Chroot) -> Iterator[tuple[Chroot, int]]:
    """(the chroot, the broker's pid: its namespaces are where clients connect)."""
    require_program("unshare", "util-linux")
    require_program("nsenter", "util-linux")
    with chroot.scratch() as (host, inside):
        made = chroot.run("mosquitto_passwd", "-c", "-b", f"{inside}/passwd", USER, PASSWORD)
        assert made.returncode == 0, made.stderr
        uid, gid = ids(chroot.root, "passwd")["mosquitto"], ids(chroot.root, "group")["mosquitto"]
        os.chown(host / "passwd", uid, gid)
        (host / "passwd").chmod(0o640)
        # The image's drop-in as it is; only what a test must not leave behind is changed.
        (host / "mosquitto.conf").write_text(
            f"include_dir {Path(DROP_IN).parent}\npersistence false\nlog_dest stderr\n"
        )
        script = (
            "ip link set lo up && "
            f'mount --bind "$1/{inside.lstrip("/")}/passwd" "$1{IMAGE_PASSWORDS}" && '
            f'exec chroot "$1" mosquitto -c {inside}/mosquitto.conf'
        )
        log = host.parent / f"{host.name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                ["unshare", "--net", "--mount", "sh", "-c", script, "sh", str(chroot.root)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_until(lambda: _running(process, log), "the image's mosquitto to listen")
            yield chroot, process.pid
        finally:
            process.terminate()
            process.wait(timeout=30)
            log.unlink(missing_ok=True)


def _running(process: subprocess.Popen[bytes], log: Path) -> bool:
    text = log.read_text(errors="replace")
    assert process.poll() is None, f"mosquitto exited:\n{text}"
    return " running" in text


def publish(broker: tuple[Chroot, int], *credentials: str) -> subprocess.CompletedProcess[str]:
    chroot, pid = broker
    client = ["mosquitto_pub", "-h", "127.0.0.1", "-p", "1883", "-t", "site/probe", "-m", "1"]
    return subprocess.run(
        ["nsenter", f"--net=/proc/{pid}/ns/net", "chroot", str(chroot.root), *client, *credentials],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        check=False,
    )


def test_the_drop_in_requires_authentication(chroot: Chroot) -> None:
    lines = (chroot.root / DROP_IN.lstrip("/")).read_text().splitlines()
    assert "allow_anonymous false" in lines
    assert f"password_file {IMAGE_PASSWORDS}" in lines


def test_mosquitto_refuses_anonymous_clients(broker: tuple[Chroot, int]) -> None:
    anonymous = publish(broker)
    assert anonymous.returncode != 0
    assert "not authorised" in anonymous.stderr


def test_mosquitto_refuses_a_wrong_password_and_accepts_the_configured_user(
    broker: tuple[Chroot, int],
) -> None:
    wrong = publish(broker, "-u", USER, "-P", "not-the-password")
    assert wrong.returncode != 0
    assert "not authorised" in wrong.stderr
    right = publish(broker, "-u", USER, "-P", PASSWORD)
    assert right.returncode == 0, right.stderr
