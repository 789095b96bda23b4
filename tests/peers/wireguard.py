"""Network namespaces and WireGuard hubs for the tunnel tests.

The namespaces, veth pair and hub are :mod:`edgeward.harness.network_namespaces`,
which the demo uses too; this adds the peer check that fails in CI naming
the package.
"""

from __future__ import annotations

import os

from edgeward.harness.network_namespaces import (
    CLOUD_UNDERLAY,
    GATEWAY_UNDERLAY,
    HUB_ADDRESS,
    HUB_PORT,
    HubInterface,
    Namespace,
    hub_interface,
    namespace_pair,
    single_namespace,
)
from tests.peers import missing_peer, require_program

__all__ = [
    "CLOUD_UNDERLAY",
    "GATEWAY_UNDERLAY",
    "HUB_ADDRESS",
    "HUB_PORT",
    "HubInterface",
    "Namespace",
    "hub_interface",
    "namespace_pair",
    "require_wireguard",
    "single_namespace",
]


def require_wireguard() -> None:
    """Root, iproute2, wireguard-tools and wireguard-go, or fail in CI naming the package."""
    if os.geteuid() != 0:
        missing_peer("root (network namespaces, WireGuard interfaces)", "run the tests as root")
    require_program("ip", "iproute2")
    require_program("wg", "wireguard-tools")
    require_program("wireguard-go", "wireguard-go")
