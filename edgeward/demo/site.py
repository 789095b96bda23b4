"""Where the demo's cloud and gateway run, and how the gateway is provisioned.

As root (with iproute2, wireguard-tools and wireguard-go), the demo builds the
site the tunnel test builds: the cloud and its WireGuard hub in one network
namespace, the gateway and its devices in another, joined by a veth pair
standing in for the site's network. The gateway is provisioned over that
link with a claim code by ``edgeward provision``, which brings its tunnel up;
from then on it reaches the cloud only through the tunnel, and the demo
shows the cloud seeing the gateway's tunnel address.

Otherwise everything runs on this host and the gateway talks to the cloud
directly over loopback; the demo says why the tunnel is left out.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from edgeward.harness.local_cloud import LocalCloud
from edgeward.harness.network_namespaces import (
    CLOUD_UNDERLAY,
    GATEWAY_UNDERLAY,
    HUB_PORT,
    NetworkSetupError,
    hub_interface,
    missing_for_tunnel,
    namespace_pair,
)
from edgeward.harness.processes import ChildProcessError, in_namespace

# Inside its own namespace the cloud has every port to itself; a fixed one lets
# the hub settings name the cloud's URL in the tunnel before it starts.
CLOUD_PORT_IN_NAMESPACE = 8080
GATEWAY_NAME = "demo-gateway"


@dataclass(frozen=True, slots=True)
class DemoSite:
    """The cloud as the demo reaches it, and where the gateway's side runs."""

    cloud: LocalCloud
    # None: on this host, no tunnel.
    gateway_netns: str | None

    @property
    def tunnel(self) -> bool:
        return self.gateway_netns is not None

    def cloud_url_for_installer(self) -> str:
        """The cloud's URL as the gateway reaches it before its tunnel exists."""
        if self.tunnel:
            return f"http://{CLOUD_UNDERLAY}:{self.cloud.port}"
        return self.cloud.url


def make_site(console: Console, root: Path, stack: ExitStack, tunnel_wanted: bool) -> DemoSite:
    """The demo's cloud (not started yet); namespaces and hub entered on ``stack``."""
    why = missing_for_tunnel() if tunnel_wanted else "--no-tunnel given"
    if why is None:
        try:
            return _tunnelled_site(console, root, stack)
        except NetworkSetupError as exc:
            why = f"the network namespaces could not be made ({exc})"
    console.print(f"· tunnel left out: {why}; the gateway talks to the cloud directly on this host")
    return DemoSite(LocalCloud(root), None)


def _tunnelled_site(console: Console, root: Path, stack: ExitStack) -> DemoSite:
    with ExitStack() as attempt:  # undone here if any step fails
        cloud_ns, gateway_ns = attempt.enter_context(namespace_pair())
        hub = attempt.enter_context(hub_interface(cloud_ns, root))
        stack.push(attempt.pop_all())
    console.print(
        f"✓ network namespaces: cloud {cloud_ns.name} ({CLOUD_UNDERLAY}), "
        f"gateway {gateway_ns.name} ({GATEWAY_UNDERLAY}), joined by a veth pair"
    )
    console.print(f"✓ WireGuard hub {hub.name} (wireguard-go) on {CLOUD_UNDERLAY}:{HUB_PORT}")
    env = hub.cloud_env(CLOUD_PORT_IN_NAMESPACE)
    cloud = LocalCloud(root, port=CLOUD_PORT_IN_NAMESPACE, env=env, netns=cloud_ns.name)
    return DemoSite(cloud, gateway_ns.name)


def provision_gateway(console: Console, root: Path, site: DemoSite, token: str) -> Path:
    """The installer's way: a claim code from the cloud, ``edgeward provision`` on the gateway.

    Returns the gateway.toml it wrote.
    """
    code = site.cloud.create_claim(token, site="demo")
    console.print("✓ claim code created for the gateway (shown once to the installer)")
    gateway_dir = root / "gateway"
    command = [*in_namespace(site.gateway_netns), sys.executable, "-m", "edgeward", "provision"]
    command += ["--cloud", site.cloud_url_for_installer(), "--claim", code]
    command += ["--root", str(gateway_dir), "--name", GATEWAY_NAME]
    if not site.tunnel:
        command.append("--no-tunnel")
    # Its own session: a Ctrl-C reaches only the demo, and the wireguard-go daemon
    # it leaves running goes with the gateway's namespace, after the gateway.
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, start_new_session=True
    )
    for line in done.stdout.splitlines():
        console.print(f"  {line}", highlight=False)
    if done.returncode != 0:
        raise ChildProcessError(
            f"edgeward provision failed (exit {done.returncode}):\n{done.stderr}"
        )
    return gateway_dir / "gateway.toml"


def gateway_id_of(config_path: Path) -> str:
    return str(tomllib.loads(config_path.read_text())["gateway"]["id"])


def show_gateway_address(console: Console, site: DemoSite, token: str, gateway_id: str) -> None:
    """Where the cloud last heard the gateway from: its tunnel address when tunnelled."""
    with site.cloud.client(token) as client:
        seen: dict[str, Any] = client.get(f"/v1/gateways/{gateway_id}").raise_for_status().json()
    address, tunnel_address = seen.get("last_address"), seen.get("tunnel_address")
    if not site.tunnel:
        console.print(f"✓ the cloud heard the gateway from {address} (no tunnel)")
        return
    if address != tunnel_address:
        raise ChildProcessError(
            f"the cloud heard the gateway from {address}, not its tunnel address {tunnel_address}"
        )
    console.print(
        f"✓ the cloud hears the gateway at its tunnel address {address}: "
        "its readings came through the tunnel"
    )
