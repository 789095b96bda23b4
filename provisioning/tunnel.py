"""Bringing the gateway's WireGuard tunnel up, and checking the cloud through it.

Kernel WireGuard when ``ip link add <name> type wireguard`` works, otherwise
``wireguard-go <name>`` (userspace, for kernels without the module). Every
step is idempotent (``ip address replace``, ``ip route replace``, ``wg set``),
so a re-run repairs a tunnel that went down. The private key reaches ``wg``
as a file (mode 0600), never on a command line.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgeward.provisioning import cloud_client
from edgeward.provisioning.errors import TunnelError

COMMAND_TIMEOUT_S = 20.0
PACKAGES = {"ip": "iproute2", "wg": "wireguard-tools", "wireguard-go": "wireguard-go"}


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False
        )
    except FileNotFoundError as exc:
        package = PACKAGES.get(command[0], command[0])
        raise TunnelError(
            f"{command[0]!r} is not installed", hint=f"apt-get install {package}"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise TunnelError(f"`{' '.join(command)}` hung for {COMMAND_TIMEOUT_S}s") from exc


def _must(*command: str) -> None:
    done = _run(*command)
    if done.returncode != 0:
        raise TunnelError(
            f"`{' '.join(command)}` failed (exit {done.returncode}): {done.stderr.strip()}",
            hint="provisioning the tunnel needs root (CAP_NET_ADMIN)",
        )


def link_exists(interface: str) -> bool:
    return _run("ip", "link", "show", "dev", interface).returncode == 0


def create_interface(interface: str, userspace: bool) -> str:
    """The backend that made the interface: ``kernel``, ``wireguard-go`` or ``existing``."""
    if link_exists(interface):
        return "existing"
    if not userspace and _run("ip", "link", "add", interface, "type", "wireguard").returncode == 0:
        return "kernel"
    done = _run("wireguard-go", interface)  # daemonizes once the interface exists
    if done.returncode != 0 or not link_exists(interface):
        raise TunnelError(
            f"no WireGuard interface {interface}: the kernel has no WireGuard and "
            f"wireguard-go failed (exit {done.returncode}): {done.stderr.strip()[-300:]}",
            hint="apt-get install wireguard-go (or load the wireguard kernel module); needs root",
        )
    return "wireguard-go"


def bring_up(interface: str, key_file: Path, offer: dict[str, Any], userspace: bool) -> str:
    backend = create_interface(interface, userspace)
    allowed = ",".join(offer["allowed_ips"])
    _must(
        "wg", "set", interface, "private-key", str(key_file),
        "peer", offer["hub_public_key"], "endpoint", offer["hub_endpoint"],
        "allowed-ips", allowed,
        "persistent-keepalive", str(offer.get("persistent_keepalive", 25)),
    )  # fmt: skip
    _must("ip", "address", "replace", offer["address"], "dev", interface)
    _must("ip", "link", "set", interface, "up")
    for network in offer["allowed_ips"]:
        _must("ip", "route", "replace", network, "dev", interface)
    return backend


def set_private_key(interface: str, key_file: Path) -> bool:
    """Swap the interface's key in place (after a rotation); False if it isn't up."""
    if not link_exists(interface):
        return False
    _must("wg", "set", interface, "private-key", str(key_file))
    return True


def check_cloud(url: str, timeout: float, progress: Callable[[], None]) -> None:
    """GET ``url``/healthz until it answers 200 (the first handshake takes a moment)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        answer = cloud_client.health(url)
        if answer is None:
            return
        last = answer
        progress()
        time.sleep(1)
    raise TunnelError(
        f"the cloud does not answer at {url} through the tunnel after {timeout:.0f}s ({last})",
        hint="check `wg show` for a recent handshake; the hub endpoint must be reachable "
        "over UDP from here, and the cloud must have this gateway's peer",
    )
