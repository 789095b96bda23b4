"""The gateway image's root filesystem for tests: built by image/build.sh (the same
script as `make image`) or taken from its cache, and commands run inside it by chroot.

Building needs root and mmdebstrap; a missing one fails under CI=true naming
the Debian package. A cold build takes a few minutes (mostly mmdebstrap),
a warm one seconds.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.peers import missing_peer, require_program

REPO = Path(__file__).parents[2]
BUILD_TIMEOUT = 1500.0


def build_rootfs(log: Path) -> Path:
    """The rootfs directory of the current recipe and wheels, built if not cached."""
    if os.geteuid() != 0:
        missing_peer("root (the image is built with mmdebstrap --mode=root and chroot)", "sudo")
    require_program("mmdebstrap", "mmdebstrap")
    env = {**os.environ, "PYTHON": sys.executable}
    with log.open("wb") as out:
        done = subprocess.run(
            ["sh", str(REPO / "image" / "build.sh")],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            timeout=BUILD_TIMEOUT,
            check=False,
        )
    text = log.read_text(errors="replace")
    assert done.returncode == 0, f"image/build.sh failed:\n{text[-4000:]}"
    found = re.findall(r"^rootfs: (\S+) (\S+)$", text, re.MULTILINE)
    assert found, f"image/build.sh printed no rootfs line:\n{text[-2000:]}"
    return Path(found[-1][0])


class Chroot:
    """Runs commands inside ``root`` with /proc mounted, and always unmounts it."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @contextlib.contextmanager
    def mounted(self) -> Iterator[Chroot]:
        proc = self.root / "proc"
        subprocess.run(["mount", "-t", "proc", "proc", str(proc)], check=True)
        try:
            yield self
        finally:
            subprocess.run(["umount", str(proc)], check=True)

    def run(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["chroot", str(self.root), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"},
            check=False,
        )

    def popen(self, *args: str, log: Path) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            return subprocess.Popen(
                ["chroot", str(self.root), *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
            )

    @contextlib.contextmanager
    def scratch(self) -> Iterator[tuple[Path, str]]:
        """A fresh directory under the rootfs's /tmp: (host path, path inside), removed after."""
        inside = f"/tmp/edgeward-test-{secrets.token_hex(6)}"
        host = self.root / inside.lstrip("/")
        host.mkdir(mode=0o755)
        try:
            yield host, inside
        finally:
            shutil.rmtree(host, ignore_errors=True)


def ids(root: Path, database: str) -> dict[str, int]:
    """name -> id from the rootfs's /etc/passwd or /etc/group (not the host's)."""
    lines = (root / "etc" / database).read_text().splitlines()
    return {fields[0]: int(fields[2]) for fields in (line.split(":") for line in lines)}
