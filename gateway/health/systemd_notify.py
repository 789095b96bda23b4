"""sd_notify(3) for a ``Type=notify`` service, in the standard library.

systemd passes ``$NOTIFY_SOCKET``: a unix datagram socket, a filesystem path
or, when it starts with ``@``, a name in the abstract namespace (the ``@``
stands for the leading NUL byte). Each notification is one datagram of
newline-separated ``KEY=VALUE`` lines: ``READY=1`` once started,
``WATCHDOG=1`` at least every ``$WATCHDOG_USEC`` microseconds when the unit
sets ``WatchdogSec=`` (meant for this process only if ``$WATCHDOG_PID`` is
unset or ours), ``STOPPING=1``, ``STATUS=...``.

Outside systemd (no ``$NOTIFY_SOCKET``) every call does nothing, so the
gateway runs the same by hand, under the demo and in tests. libsystemd's
python binding would do the same job with a C dependency on the box; the
protocol is one ``sendto``.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)

__all__ = ["notify", "watchdog_interval"]


def _address(value: str) -> str | bytes:
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    return value


def notify(state: str, env: Mapping[str, str] | None = None) -> bool:
    """Send ``state`` to the service manager; False when there is none to tell.

    A failing socket is logged, never raised: a notification must not stop
    the gateway (the watchdog will restart it if it keeps failing).
    """
    target = (os.environ if env is None else env).get("NOTIFY_SOCKET", "")
    if not target:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(state.encode(), _address(target))
    except OSError as exc:
        log.warning("sd_notify to %s failed: %s", target, exc)
        return False
    return True


def watchdog_interval(env: Mapping[str, str] | None = None) -> float | None:
    """Seconds between ``WATCHDOG=1`` pings (half the unit's timeout), or None.

    Half, as sd_watchdog_enabled(3) advises, so one late ping is not a restart.
    """
    values = os.environ if env is None else env
    pid = values.get("WATCHDOG_PID")
    if pid and pid != str(os.getpid()):
        return None
    try:
        usec = int(values.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 2e6 if usec > 0 else None
