"""The wheel installs the parts under edgeward.* and nothing at the top level."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
PARTS = ("gateway", "drivers", "sync", "provisioning", "cloud")


def test_wheel_holds_only_the_edgeward_namespace(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(REPOSITORY),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("edgeward-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names}
    assert top_level == {
        "edgeward",
        wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info",
    }
    for part in PARTS:
        assert f"edgeward/{part}/__init__.py" in names
    assert "edgeward/cloud/migrations/versions/0001_initial.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "edgeward = edgeward.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_version_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "edgeward", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.startswith("edgeward ")
