"""Edgeward versions small enough to install in a test: real wheels, real venvs,
with an ``edgeward`` command that is healthy or fails a chosen health check.

The fake service manager beside them (a ``systemctl`` script) records what the
updater asks and, on ``restart``, stamps the time the "service" started; the
fake ``edgeward gateway status`` reports that stamp as ``started_us``, as the
real status.json does.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

CLI = """\
import json, os, sys
from pathlib import Path

VERSION = {version!r}
BEHAVIOUR = {behaviour!r}


def main() -> int:
    args = sys.argv[1:]
    if args == ["--version"]:
        print(f"edgeward {{VERSION}}")
        return 0
    if args[:2] == ["gateway", "check-config"]:
        return 2 if BEHAVIOUR == "bad-config" else 0
    if args[:2] == ["gateway", "status"]:
        if BEHAVIOUR == "never-healthy":
            return 3
        stamp = Path(os.environ["FAKE_SERVICE_DIR"]) / "started_us"
        print(json.dumps({{"started_us": int(stamp.read_text())}}))
        return 0
    return 1
"""

SYSTEMCTL = """\
#!/bin/sh
echo "$*" >> "$FAKE_SERVICE_DIR/systemctl.log"
case "$1" in
    restart) date +%s%6N > "$FAKE_SERVICE_DIR/started_us" ;;
    is-active) exit 0 ;;
esac
"""


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def make_wheel(wheelhouse: Path, version: str, behaviour: str) -> Path:
    """``edgeward-<version>-py3-none-any.whl`` whose ``edgeward`` behaves as told."""
    info = f"edgeward-{version}.dist-info"
    files = {
        "edgeward/__init__.py": b"",
        "edgeward/cli.py": CLI.format(version=version, behaviour=behaviour).encode(),
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: edgeward\nVersion: {version}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
        f"{info}/entry_points.txt": b"[console_scripts]\nedgeward = edgeward.cli:main\n",
    }
    record = [_record_line(name, data) for name, data in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheelhouse.mkdir(parents=True, exist_ok=True)
    path = wheelhouse / f"edgeward-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for name, data in files.items():
            wheel.writestr(name, data)
    return path


def make_systemctl(directory: Path) -> Path:
    path = directory / "systemctl"
    path.write_text(SYSTEMCTL)
    path.chmod(0o755)
    return path
