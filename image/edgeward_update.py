#!/usr/bin/python3
"""edgeward-update: atomic application updates with rollback, for the gateway image.

Installed as /usr/local/sbin/edgeward-update. Each version lives in a venv
of its own, ``/opt/edgeward/<version>``, beside the others; the service runs
``/opt/edgeward/current/bin/edgeward``. An update

1. installs the new version from a wheelhouse (``pip --no-index``: the box
   needs no package index), unless it is already installed complete;
2. switches ``current`` to it atomically: a new symlink renamed over the old
   (rename(2) replaces it in one step, so a power cut leaves one or the other);
3. checks its health: ``edgeward --version`` answers with the version, and on
   a provisioned box ``edgeward gateway check-config`` passes, the service
   restarts and becomes active, and ``edgeward gateway status`` shows a
   snapshot from the restarted process, all within ``--timeout``;
4. switches back and restarts the old version if any check fails.

It lives outside the versions it switches between, in the standard library
only, so a broken version can't break its own rollback. ``--root`` and
``--systemctl`` let tests run the real switch and rollback in a temporary
directory.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

SERVICE = "edgeward-gateway.service"
INSTALLED_MARK = ".installed"
WHEEL = re.compile(r"^edgeward-(?P<version>[^-]+)-.*\.whl$")


class UpdateError(Exception):
    """An update step failed; the message says which and why."""


@dataclass(frozen=True)
class Layout:
    root: Path
    python: str
    systemctl: str
    timeout: float

    @property
    def versions(self) -> Path:
        return self.root / "opt/edgeward"

    @property
    def current(self) -> Path:
        return self.versions / "current"

    @property
    def config(self) -> Path:
        return self.root / "etc/edgeward/gateway.toml"


def wheel_version(wheelhouse: Path) -> str:
    """The version of the one edgeward wheel in ``wheelhouse``."""
    found = sorted(m["version"] for p in wheelhouse.iterdir() if (m := WHEEL.match(p.name)))
    if len(found) != 1:
        raise UpdateError(f"{wheelhouse}: expected one edgeward wheel, found {found or 'none'}")
    return found[0]


def install(layout: Layout, wheelhouse: Path, version: str) -> None:
    """Install ``version`` beside the others; an unfinished earlier try is redone."""
    prefix = layout.versions / version
    if (prefix / INSTALLED_MARK).exists():
        print(f"edgeward {version} is already installed in {prefix}")
        return
    shutil.rmtree(prefix, ignore_errors=True)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    _run([layout.python, "-m", "venv", str(prefix)], f"creating the venv {prefix}")
    pip = [str(prefix / "bin/python"), "-m", "pip", "install", "--quiet", "--no-cache-dir"]
    pip += ["--no-index", "--find-links", str(wheelhouse), f"edgeward=={version}"]
    _run(pip, f"installing edgeward {version} from {wheelhouse}")
    (prefix / INSTALLED_MARK).touch()
    print(f"installed edgeward {version} in {prefix}")


def current_version(layout: Layout) -> str | None:
    try:
        return os.readlink(layout.current)
    except FileNotFoundError:
        return None


def switch(layout: Layout, version: str) -> None:
    """Point ``current`` at ``version`` in one rename(2)."""
    if not (layout.versions / version / INSTALLED_MARK).exists():
        raise UpdateError(f"edgeward {version} is not installed in {layout.versions}")
    temporary = layout.versions / f".current.{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    temporary.symlink_to(version)
    os.replace(temporary, layout.current)
    directory = os.open(layout.versions, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(directory)  # the rename survives a power cut once we say it happened
    finally:
        os.close(directory)
    print(f"switched {layout.current} -> {version}")


def check_health(layout: Layout, version: str) -> None:
    """Raise UpdateError naming the first check ``version`` fails."""
    edgeward = str(layout.current / "bin/edgeward")
    answer = _run([edgeward, "--version"], f"edgeward {version} --version")
    if version not in answer.split():
        raise UpdateError(f"edgeward --version answered {answer.strip()!r}, not {version}")
    if not layout.config.exists():
        print(f"not provisioned ({layout.config} missing): the service is not restarted")
        return
    config = ["--config", str(layout.config)]
    _run([edgeward, "gateway", "check-config", *config], f"edgeward {version} check-config")
    restarted_us = time.time_ns() // 1000
    _run([layout.systemctl, "restart", SERVICE], f"restarting {SERVICE}")
    deadline = time.monotonic() + layout.timeout
    while not _service_healthy(layout, edgeward, config, restarted_us):
        if time.monotonic() > deadline:
            raise UpdateError(
                f"{SERVICE} on edgeward {version} not active with a fresh "
                f"`edgeward gateway status` within {layout.timeout:g} s"
            )
        time.sleep(0.5)
    print(f"edgeward {version} is healthy")


def _service_healthy(layout: Layout, edgeward: str, config: list[str], restarted_us: int) -> bool:
    active = subprocess.run([layout.systemctl, "is-active", "--quiet", SERVICE], check=False)
    if active.returncode != 0:
        return False
    status = subprocess.run(
        [edgeward, "gateway", "status", "--json", *config],
        capture_output=True,
        text=True,
        check=False,
    )
    if status.returncode != 0:
        return False
    try:
        return int(json.loads(status.stdout)["started_us"]) >= restarted_us
    except (ValueError, KeyError, TypeError):
        return False


def update(layout: Layout, wheelhouse: Path, version: str | None) -> int:
    version = version or wheel_version(wheelhouse)
    with _locked(layout):
        previous = current_version(layout)
        install(layout, wheelhouse, version)
        return activate(layout, version, previous)


def activate(layout: Layout, version: str, previous: str | None) -> int:
    """Switch to ``version``; on a failed health check switch back to ``previous``."""
    switch(layout, version)
    try:
        check_health(layout, version)
    except UpdateError as exc:
        print(f"edgeward-update: {version} failed its health check: {exc}", file=sys.stderr)
        if previous is None or previous == version:
            print("edgeward-update: no earlier version to roll back to", file=sys.stderr)
            return 1
        switch(layout, previous)
        try:
            check_health(layout, previous)
        except UpdateError as again:
            print(f"edgeward-update: rolled back to {previous}, which fails too: {again}")
            return 1
        print(f"edgeward-update: rolled back to {previous}", file=sys.stderr)
        return 1
    prune(layout, keep={version, previous})
    return 0


def prune(layout: Layout, keep: set[str | None]) -> None:
    """Remove versions other than the current one and the one before it (small disks)."""
    for entry in layout.versions.iterdir():
        if entry.name in keep or entry.is_symlink() or entry.name.startswith("."):
            continue
        shutil.rmtree(entry)
        print(f"removed edgeward {entry.name}")


@contextlib.contextmanager
def _locked(layout: Layout) -> Iterator[None]:
    layout.versions.mkdir(parents=True, exist_ok=True)
    with (layout.versions / ".update.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UpdateError("another edgeward-update is running") from None
        yield


def _run(command: Sequence[str], what: str) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise UpdateError(f"{what}: {exc}") from exc
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()[-2000:]
        raise UpdateError(f"{what} failed (exit {done.returncode}): {output}")
    return done.stdout


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edgeward-update", description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=Path("/"), help="the system's root")
    parser.add_argument("--python", default="/usr/bin/python3", help="makes each version's venv")
    parser.add_argument("--systemctl", default="systemctl")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to become healthy")
    actions = parser.add_subparsers(dest="action", required=True)
    install_ = actions.add_parser("install", help="install from a wheelhouse, switch, check")
    install_.add_argument("wheelhouse", type=Path)
    install_.add_argument("--version", help="default: the edgeward wheel's version")
    switch_ = actions.add_parser("switch", help="switch to an installed version, check")
    switch_.add_argument("version")
    actions.add_parser("list", help="installed versions, the current one marked")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    layout = Layout(args.root, args.python, args.systemctl, args.timeout)
    try:
        if args.action == "install":
            return update(layout, args.wheelhouse, args.version)
        if args.action == "switch":
            with _locked(layout):
                return activate(layout, args.version, current_version(layout))
        current = current_version(layout)
        for entry in sorted(layout.versions.glob(f"*/{INSTALLED_MARK}")):
            name = entry.parent.name
            print(f"{'*' if name == current else ' '} {name}")
        return 0
    except UpdateError as exc:
        print(f"edgeward-update: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
