"""A private D-Bus message bus: a real ``dbus-daemon`` started for one test.

bleak's BlueZ backend talks to the *system* bus; pointing
``DBUS_SYSTEM_BUS_ADDRESS`` at this daemon lets unmodified bleak reach our
BlueZ stand-in without touching the machine's own bus or Bluetooth stack.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from edgeward.harness.processes import ChildProcess
from tests.peers import require_program

# Everyone may own any name and send anything: the bus only lives for one
# test, inside its temporary directory, so there is nothing to protect.
CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""
START_TIMEOUT = 10.0


class PrivateBus:
    """``dbus-daemon --nofork`` on a unix socket in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.address = ""
        self._process: ChildProcess | None = None

    def start(self) -> PrivateBus:
        program = require_program("dbus-daemon", "dbus-daemon")
        config = self.directory / "bus.conf"
        config.write_text(CONFIG.format(socket=self.directory / "system_bus_socket"))
        args = ["--nofork", "--print-address", f"--config-file={config}"]
        log = self.directory / "dbus-daemon.log"
        self._process = ChildProcess("dbus-daemon", args, log, program=program).start()
        try:
            # The daemon prints its address once it listens: that line is the
            # readiness signal, so no polling for the socket file.
            self._process.wait_for(
                lambda: self._printed_address(log) is not None,
                "dbus-daemon to print its address",
                START_TIMEOUT,
            )
        except BaseException:
            self.stop()
            raise
        self.address = self._printed_address(log) or ""
        return self

    @staticmethod
    def _printed_address(log: Path) -> str | None:
        lines = log.read_text(errors="replace").splitlines(keepends=True) if log.exists() else []
        return next(
            (line.strip() for line in lines if line.startswith("unix:") and line.endswith("\n")),
            None,
        )

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop(timeout=5)
            self._process = None

    def __enter__(self) -> PrivateBus:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
