"""Starting Edgeward's own programs as child processes, and never leaving one behind.

The demo and the tests run the cloud, the simulators and the gateway as the
real programs an operator would start. :class:`ChildProcess` starts one with
its output in a log file, waits for the port it reports, and stops it with
SIGTERM, then SIGKILL if it does not go. With ``program`` it runs another
program (the demo's ``socat`` and ``mosquitto``) under the same rules; with
``netns``, inside that network namespace (``ip netns exec``, which execs the
program: the pid is still the program's).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM it if the parent dies, even by SIGKILL."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


# Debian's sbin directories are not on every user's PATH; mosquitto, ip and
# wireguard-go live there.
SBIN = ("/usr/sbin", "/sbin")


def find_program(name: str) -> str | None:
    """``name``'s path on PATH, or in the sbin directories; None if it is not installed."""
    return shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", os.defpath), *SBIN]))


def in_namespace(netns: str | None) -> list[str]:
    """The prefix that runs a command in network namespace ``netns`` (none for None)."""
    return [] if netns is None else ["ip", "netns", "exec", netns]


class ChildProcessError(RuntimeError):
    """A child did not start, or died; the message carries the end of its log."""


class ChildProcess:
    def __init__(
        self,
        name: str,
        args: Sequence[str],
        log_path: Path,
        *,
        env: dict[str, str] | None = None,
        program: str | None = None,
        netns: str | None = None,
    ) -> None:
        """``args`` go to ``edgeward``, or to ``program`` (a path) when one is given."""
        self.name = name
        command = [program, *args] if program else [sys.executable, "-m", "edgeward", *args]
        self.args = [*in_namespace(netns), *command]
        self.log_path = log_path
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ChildProcess:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(self.env or {})},
                # Out of the terminal's process group, so that Ctrl-C reaches only
                # the parent, which then stops its children in order.
                process_group=0,
                preexec_fn=_die_with_parent,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
        """Wait until ``condition()`` holds; fail early if the child dies."""
        deadline = time.monotonic() + timeout
        while not condition():
            if not self.alive():
                raise ChildProcessError(f"{self.name} exited before {what}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise ChildProcessError(
                    f"{self.name}: no {what} after {timeout}s:\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def wait_for_port_file(self, port_file: Path, timeout: float = 30.0) -> int:
        self.wait_for(port_file.exists, f"port file {port_file}", timeout)
        return int(port_file.read_text().strip())

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, wait, then SIGKILL; returns the exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up, like a power cut."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> ChildProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
