"""A pseudo-terminal pair made by ``socat``: the test's stand-in for a serial cable.

Each end gets a stable link name, so killing socat (the cable pulled) and
starting it again with the same names (plugged back in) looks to a driver
like a USB adapter that vanished and came back.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from edgeward.harness.processes import ChildProcess
from tests.peers import require_program

START_TIMEOUT = 10.0


class PtyPair:
    def __init__(self, directory: Path, names: tuple[str, str] = ("ttyA", "ttyB")) -> None:
        self.socat = require_program("socat", "socat")
        self.device_end = directory / names[0]
        self.peer_end = directory / names[1]
        self.log_path = directory / f"socat-{names[0]}-{names[1]}.log"
        self._process: ChildProcess | None = None

    def start(self) -> PtyPair:
        ends = [f"pty,raw,echo=0,link={self.device_end}", f"pty,raw,echo=0,link={self.peer_end}"]
        self._process = ChildProcess("socat", ends, self.log_path, program=self.socat).start()
        self._process.wait_for(
            lambda: self.device_end.exists() and self.peer_end.exists(),
            f"socat links {self.device_end} and {self.peer_end}",
            START_TIMEOUT,
        )
        return self

    def stop(self) -> None:
        """Kill socat: both ptys disappear and so do their links."""
        if self._process is not None:
            self._process.kill()
            self._process = None
        for link in (self.device_end, self.peer_end):
            link.unlink(missing_ok=True)

    def __enter__(self) -> PtyPair:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
