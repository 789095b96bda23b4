"""edgeward-update, the image's real updater, in a temporary root: versions are
installed beside each other, switched atomically, and switched back when the new
one fails its health check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.image.fake_versions import make_systemctl, make_wheel

UPDATER = Path(__file__).parents[2] / "image" / "edgeward_update.py"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


class Box:
    """A temporary system root with the updater's paths, and a fake service manager."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.service = root / "service"
        self.service.mkdir(parents=True)
        self.systemctl = make_systemctl(self.service)
        self.versions = root / "opt" / "edgeward"

    def update(self, version: str, behaviour: str = "good") -> subprocess.CompletedProcess[str]:
        wheelhouse = self.root / f"wheelhouse-{version}"
        make_wheel(wheelhouse, version, behaviour)
        return self.run("install", str(wheelhouse))

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, str(UPDATER), "--root", str(self.root)]
        command += ["--python", sys.executable, "--systemctl", str(self.systemctl)]
        command += ["--timeout", "2", *args]
        env = {**os.environ, "FAKE_SERVICE_DIR": str(self.service)}
        return subprocess.run(command, capture_output=True, text=True, env=env, check=False)

    @property
    def current(self) -> str:
        return os.readlink(self.versions / "current")

    def provision(self) -> None:
        config = self.root / "etc" / "edgeward" / "gateway.toml"
        config.parent.mkdir(parents=True)
        config.write_text("# provisioned\n")

    def systemctl_calls(self) -> list[str]:
        log = self.service / "systemctl.log"
        return log.read_text().splitlines() if log.exists() else []


def test_versions_failing_their_health_check_are_rolled_back(tmp_path: Path) -> None:
    """One box's life: installed, provisioned, two bad updates rolled back, a good one kept.

    (One story rather than one box per case: each version is a real venv.)
    """
    box = Box(tmp_path)
    first = box.update("0.1.0")
    assert first.returncode == 0, first.stderr
    assert box.current == "0.1.0"
    assert box.systemctl_calls() == []  # not provisioned: nothing to restart yet
    box.provision()

    bad = box.update("0.2.0", behaviour="bad-config")
    assert bad.returncode == 1
    assert "0.2.0 failed its health check" in bad.stderr
    assert "check-config failed (exit 2)" in bad.stderr
    assert "rolled back to 0.1.0" in bad.stderr
    assert box.current == "0.1.0"
    assert (box.versions / "0.2.0" / "bin" / "edgeward").exists()  # beside, not over
    # 0.2.0 was never restarted into; 0.1.0 was restarted and came back active.
    assert box.systemctl_calls() == [
        "restart edgeward-gateway.service",
        "is-active --quiet edgeward-gateway.service",
    ]

    stuck = box.update("0.3.0", behaviour="never-healthy")
    assert stuck.returncode == 1
    assert "not active with a fresh `edgeward gateway status` within 2 s" in stuck.stderr
    assert "rolled back to 0.1.0" in stuck.stderr
    assert box.current == "0.1.0"
    restarts = [call for call in box.systemctl_calls() if call.startswith("restart")]
    assert len(restarts) == 3  # the first rollback; into 0.3.0, then back into 0.1.0

    good = box.update("0.4.0")
    assert good.returncode == 0, good.stderr
    assert "edgeward 0.4.0 is healthy" in good.stdout
    assert box.current == "0.4.0"
    # The previous version stays for a manual switch back; the failed ones go.
    installed = sorted(p.name for p in box.versions.iterdir() if not p.name.startswith("."))
    assert installed == ["0.1.0", "0.4.0", "current"]

    back = box.run("switch", "0.1.0")
    assert back.returncode == 0, back.stderr
    assert box.current == "0.1.0"
    assert not list(box.versions.glob(".current.*"))  # no temporary link left behind


def test_an_unfinished_install_is_redone_and_an_unknown_version_refused(tmp_path: Path) -> None:
    box = Box(tmp_path)
    (box.versions / "0.1.0" / "bin").mkdir(parents=True)  # a power cut mid-install
    done = box.update("0.1.0")
    assert done.returncode == 0, done.stderr
    assert "installed edgeward 0.1.0" in done.stdout
    assert box.current == "0.1.0"

    missing = box.run("switch", "9.9.9")
    assert missing.returncode == 1
    assert "edgeward 9.9.9 is not installed" in missing.stderr
    assert box.current == "0.1.0"
