"""Two hosts on one machine: network namespaces joined by a veth pair, and a WireGuard hub.

The demo and the tunnel test both need a cloud and a gateway that reach each
other only over a network: the cloud and its hub in one namespace, the
gateway in the other, an "underlay" link between them (192.168.77.1 and .2),
and the tunnel on top. Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN), iproute2,
wireguard-tools and wireguard-go; :func:`missing_for_tunnel` says which is
missing before anything is made.

Everything made here is removed by the context managers whatever happens:
the processes still running in a namespace (the wireguard-go daemons the
installer started, for one) are ended by their ids, then the namespace is
deleted, which takes its veth end and interfaces with it.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from edgeward.harness.processes import find_program, in_namespace

CLOUD_UNDERLAY = "192.168.77.1"
GATEWAY_UNDERLAY = "192.168.77.2"
HUB_PORT = 51820
HUB_INTERFACE = "ewhub0"
HUB_ADDRESS = "10.77.0.1"
TUNNEL_POOL = "10.77.0.0/24"
COMMAND_TIMEOUT_S = 60
PROGRAMS = {"ip": "iproute2", "wg": "wireguard-tools", "wireguard-go": "wireguard-go"}
CAP_NET_ADMIN = 12
CAP_SYS_ADMIN = 21


class NetworkSetupError(RuntimeError):
    """A namespace, link or interface could not be made; the message has the command's error."""


def _effective_capabilities() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    return 0


def missing_for_tunnel() -> str | None:
    """Why this process can't build the two hosts and the tunnel, or None if it can."""
    capabilities = _effective_capabilities()
    needed = (1 << CAP_NET_ADMIN) | (1 << CAP_SYS_ADMIN)
    if capabilities & needed != needed:
        return "not root (network namespaces and WireGuard interfaces need root)"
    for program, package in PROGRAMS.items():
        if find_program(program) is None:
            return f"{program} is not installed (Debian package: {package})"
    return None


def _completed(
    command: list[str], what: str, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """``command``'s result; a missing program, a hang or (with ``check``) a failure raises."""
    try:
        done = subprocess.run(
            command,
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
            timeout=COMMAND_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NetworkSetupError(f"{what}: `{' '.join(command)}`: {exc}") from exc
    if check and done.returncode != 0:
        raise NetworkSetupError(f"{what}: `{' '.join(command)}` failed: {done.stderr.strip()}")
    return done


def _run(command: list[str], what: str, stdin: str | None = None) -> str:
    return _completed(command, what, stdin).stdout


def ip(*args: str) -> str:
    return _run(["ip", *args], "ip")


@dataclass(frozen=True)
class Namespace:
    name: str

    def prefix(self) -> list[str]:
        """What runs a command inside this namespace."""
        return in_namespace(self.name)

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return _completed([*self.prefix(), *command], f"namespace {self.name}", check=check)

    def link_exists(self, interface: str) -> bool:
        return self.run("ip", "link", "show", "dev", interface, check=False).returncode == 0

    def delete(self) -> None:
        """End what still runs in it, then delete it; quiet if it was never made."""
        for pid in _quietly("ip", "netns", "pids", self.name).split():
            with suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        _quietly("ip", "netns", "del", self.name)


def _quietly(*command: str) -> str:
    """For cleanup: run ``command``, whatever it answers (its output, or "")."""
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, check=False, timeout=COMMAND_TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout if done.returncode == 0 else ""


@contextmanager
def namespace_pair() -> Iterator[tuple[Namespace, Namespace]]:
    """(cloud side, gateway side), joined by a veth pair: 192.168.77.1 and .2.

    Ctrl-C can land anywhere in here, mid-``ip`` included: each namespace is
    listed for removal before it is made, and the veth pair, made out here and
    then moved, is removed out here too (a no-op once it was moved).
    """
    suffix = secrets.token_hex(3)
    cloud, gateway = Namespace(f"ewc-{suffix}"), Namespace(f"ewg-{suffix}")
    ends = (f"ewv{suffix}c", f"ewv{suffix}g")
    made: list[Namespace] = []
    try:
        for namespace in (cloud, gateway):
            made.append(namespace)
            ip("netns", "add", namespace.name)
            namespace.run("ip", "link", "set", "lo", "up")
        ip("link", "add", ends[0], "type", "veth", "peer", "name", ends[1])
        for namespace, end, address in zip(
            (cloud, gateway), ends, (CLOUD_UNDERLAY, GATEWAY_UNDERLAY), strict=True
        ):
            ip("link", "set", end, "netns", namespace.name)
            namespace.run("ip", "address", "add", f"{address}/24", "dev", end)
            namespace.run("ip", "link", "set", end, "up")
        yield cloud, gateway
    finally:
        for namespace in made:
            namespace.delete()
        _quietly("ip", "link", "del", ends[0])


@contextmanager
def single_namespace() -> Iterator[Namespace]:
    namespace = Namespace(f"ewh-{secrets.token_hex(3)}")
    try:
        ip("netns", "add", namespace.name)
        namespace.run("ip", "link", "set", "lo", "up")
        yield namespace
    finally:
        namespace.delete()


@dataclass
class HubInterface:
    """The cloud's hub: a wireguard-go interface the deployment creates before the cloud starts."""

    namespace: Namespace
    name: str
    private_key_file: Path
    public_key: str
    process: subprocess.Popen[bytes]

    def peers(self) -> dict[str, str]:
        output = self.namespace.run("wg", "show", self.name, "allowed-ips").stdout
        return dict(line.split("\t", 1) for line in output.splitlines() if line)

    def cloud_env(self, cloud_port: int) -> dict[str, str]:
        """The cloud's settings for this hub (see docs/operators/enrollment.md)."""
        return {
            "EDGEWARD_CLOUD_HUB_INTERFACE": self.name,
            "EDGEWARD_CLOUD_HUB_ENDPOINT": f"{CLOUD_UNDERLAY}:{HUB_PORT}",
            "EDGEWARD_CLOUD_HUB_PUBLIC_KEY": self.public_key,
            "EDGEWARD_CLOUD_TUNNEL_POOL": TUNNEL_POOL,
            "EDGEWARD_CLOUD_TUNNEL_URL": f"http://{HUB_ADDRESS}:{cloud_port}",
        }

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(10)


def _wait_for_link(namespace: Namespace, name: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(COMMAND_TIMEOUT_S * 20):
        if namespace.link_exists(name):
            return
        if process.poll() is not None:
            raise NetworkSetupError(f"wireguard-go {name} exited with {process.returncode}")
        with suppress(subprocess.TimeoutExpired):
            process.wait(0.05)
    raise NetworkSetupError(f"wireguard-go made no interface {name}")


@contextmanager
def hub_interface(
    namespace: Namespace, root: Path, address: str = f"{HUB_ADDRESS}/24"
) -> Iterator[HubInterface]:
    """A wireguard-go hub in ``namespace`` listening on :data:`HUB_PORT`; its key in ``root``."""
    key_file = root / "hub.key"
    key = _run(["wg", "genkey"], "wg genkey")
    key_file.touch(mode=0o600)
    key_file.write_text(key)
    public = _run(["wg", "pubkey"], "wg pubkey", stdin=key).strip()
    with (root / "hub-wireguard-go.log").open("wb") as log:
        try:
            process = subprocess.Popen(
                [*namespace.prefix(), "wireguard-go", "-f", HUB_INTERFACE],
                stdout=log,
                stderr=subprocess.STDOUT,
                # Out of the terminal's process group: Ctrl-C reaches only the demo,
                # which stops the processes using the hub before the hub.
                process_group=0,
            )
        except OSError as exc:
            raise NetworkSetupError(f"wireguard-go could not start: {exc}") from exc
    hub = HubInterface(namespace, HUB_INTERFACE, key_file, public, process)
    try:
        _wait_for_link(namespace, HUB_INTERFACE, process)
        namespace.run(
            "wg", "set", HUB_INTERFACE, "private-key", str(key_file), "listen-port", str(HUB_PORT)
        )
        namespace.run("ip", "address", "add", address, "dev", HUB_INTERFACE)
        namespace.run("ip", "link", "set", HUB_INTERFACE, "up")
        yield hub
    finally:
        hub.stop()
