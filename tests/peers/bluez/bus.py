"""A private D-Bus message bus: a real ``dbus-daemon`` started for one test.

bleak's BlueZ backend talks to the *system* bus; pointing
``DBUS_SYSTEM_BUS_ADDRESS`` at this daemon lets unmodified bleak reach our
BlueZ stand-in without touching the machine's own bus or Bluetooth stack.
"""

from __future__ import annotations

import selectors
import subprocess
from pathlib import Path
from types import TracebackType

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
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> PrivateBus:
        program = require_program("dbus-daemon", "dbus-daemon")
        config = self.directory / "bus.conf"
        config.write_text(CONFIG.format(socket=self.directory / "system_bus_socket"))
        self._process = subprocess.Popen(
            [program, "--nofork", "--print-address", f"--config-file={config}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.address = self._read_address()
        return self

    def _read_address(self) -> str:
        """The daemon prints its address once it listens: that line is the
        readiness signal, so no polling for the socket file."""
        assert self._process is not None and self._process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._process.stdout, selectors.EVENT_READ)
            if not selector.select(START_TIMEOUT):
                self.stop()
                raise RuntimeError("dbus-daemon did not print its address in time")
        line = self._process.stdout.readline().decode().strip()
        if not line:
            self.stop()
            raise RuntimeError("dbus-daemon exited before it listened")
        return line

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
            if self._process.stdout is not None:
                self._process.stdout.close()
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
