"""Network namespaces joined by a veth pair, and wireguard-go interfaces inside them.

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

from tests.peers import missing_peer, require_program, wait_until

CLOUD_UNDERLAY = "192.168.77.1"
GATEWAY_UNDERLAY = "192.168.77.2"
HUB_PORT = 51820


def require_wireguard() -> None:
    """Root, iproute2, wireguard-tools and wireguard-go, or fail in CI naming the package."""
    if os.geteuid() != 0:
        missing_peer("root (network namespaces, WireGuard interfaces)", "run the tests as root")
    require_program("ip", "iproute2")
    require_program("wg", "wireguard-tools")
    require_program("wireguard-go", "wireguard-go")


def ip(*args: str) -> str:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"ip {' '.join(args)}: {done.stderr}"
    return done.stdout


@dataclass(frozen=True)
class Namespace:
    name: str

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["ip", "netns", "exec", self.name, *command],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        if check:
            assert done.returncode == 0, f"{' '.join(command)} in {self.name}: {done.stderr}"
        return done

    def prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.name]

    def link_exists(self, interface: str) -> bool:
        return self.run("ip", "link", "show", "dev", interface, check=False).returncode == 0

    def delete(self) -> None:
        pids = subprocess.run(
            ["ip", "netns", "pids", self.name], capture_output=True, text=True, check=False
        ).stdout.split()
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, check=False)


@contextmanager
def namespace_pair() -> Iterator[tuple[Namespace, Namespace]]:
    """(cloud side, gateway side), joined by a veth pair: 192.168.77.1 and .2."""
    suffix = secrets.token_hex(3)
    cloud, gateway = Namespace(f"ewc-{suffix}"), Namespace(f"ewg-{suffix}")
    made: list[Namespace] = []
    try:
        for namespace in (cloud, gateway):
            ip("netns", "add", namespace.name)
            made.append(namespace)
            namespace.run("ip", "link", "set", "lo", "up")
        ends = (f"ewv{suffix}c", f"ewv{suffix}g")
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


@contextmanager
def single_namespace() -> Iterator[Namespace]:
    namespace = Namespace(f"ewh-{secrets.token_hex(3)}")
    ip("netns", "add", namespace.name)
    try:
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

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(10)


@contextmanager
def hub_interface(
    namespace: Namespace, root: Path, address: str = "10.77.0.1/24"
) -> Iterator[HubInterface]:
    name = "ewhub0"
    key_file = root / "hub.key"
    key = subprocess.run(["wg", "genkey"], capture_output=True, text=True, check=True).stdout
    key_file.write_text(key)
    key_file.chmod(0o600)
    public = subprocess.run(
        ["wg", "pubkey"], input=key, capture_output=True, text=True, check=True
    ).stdout.strip()
    log = (root / "hub-wireguard-go.log").open("wb")
    process = subprocess.Popen(
        [*namespace.prefix(), "wireguard-go", "-f", name],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    hub = HubInterface(namespace, name, key_file, public, process)
    try:
        wait_until(lambda: namespace.link_exists(name), f"hub interface {name}", timeout=20)
        namespace.run("wg", "set", name, "private-key", str(key_file), "listen-port", str(HUB_PORT))
        namespace.run("ip", "address", "add", address, "dev", name)
        namespace.run("ip", "link", "set", name, "up")
        yield hub
    finally:
        hub.stop()
        log.close()
