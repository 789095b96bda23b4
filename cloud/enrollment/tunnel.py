"""The WireGuard side of enrollment: the hub's settings and tunnel addresses.

The hub is configured by the deployment (environment), because it is a
property of the cloud's network, not of an account:

- ``EDGEWARD_CLOUD_TUNNEL_POOL``: where gateway tunnel addresses come from
  (default 10.77.0.0/16); the hub holds the first address.
- ``EDGEWARD_CLOUD_HUB_ENDPOINT``: host:port gateways dial (unset: no tunnel
  is offered, and enrollment says so).
- ``EDGEWARD_CLOUD_HUB_PUBLIC_KEY``: the hub interface's WireGuard public key.
- ``EDGEWARD_CLOUD_TUNNEL_URL``: the cloud's URL inside the tunnel (default
  http://<hub address>:8080).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from edgeward.cloud.errors import ConfigurationError, Conflict
from edgeward.cloud.storage.schema import gateways


@dataclass(frozen=True, slots=True)
class HubSettings:
    pool: ipaddress.IPv4Network
    endpoint: str | None
    public_key: str | None
    cloud_url: str

    @property
    def hub_address(self) -> ipaddress.IPv4Address:
        return next(self.pool.hosts())

    @classmethod
    def from_environment(cls) -> HubSettings:
        text = os.environ.get("EDGEWARD_CLOUD_TUNNEL_POOL", "10.77.0.0/16")
        try:
            pool = ipaddress.IPv4Network(text)
        except ValueError as exc:
            raise ConfigurationError(
                f"$EDGEWARD_CLOUD_TUNNEL_POOL: expected an IPv4 network such as 10.77.0.0/16, "
                f"found {text!r}"
            ) from exc
        hub = next(pool.hosts())
        return cls(
            pool=pool,
            endpoint=os.environ.get("EDGEWARD_CLOUD_HUB_ENDPOINT") or None,
            public_key=os.environ.get("EDGEWARD_CLOUD_HUB_PUBLIC_KEY") or None,
            cloud_url=os.environ.get("EDGEWARD_CLOUD_TUNNEL_URL", f"http://{hub}:8080"),
        )

    def offer(self, tunnel_address: str) -> dict[str, Any] | None:
        """What the gateway needs to bring its tunnel up, or None without a hub."""
        if self.endpoint is None or self.public_key is None:
            return None
        return {
            "address": f"{tunnel_address}/32",
            "hub_endpoint": self.endpoint,
            "hub_public_key": self.public_key,
            "allowed_ips": [f"{self.hub_address}/32"],
            "persistent_keepalive": 25,
            "cloud_url": self.cloud_url,
        }


def allocate_address(connection: sa.Connection, hub: HubSettings) -> str:
    """The lowest free address of the pool (the hub's excepted)."""
    taken = {
        row[0]
        for row in connection.execute(
            sa.select(gateways.c.tunnel_address).where(gateways.c.tunnel_address.is_not(None))
        )
    }
    for host in hub.pool.hosts():
        if host != hub.hub_address and str(host) not in taken:
            return str(host)
    raise Conflict(f"the tunnel address pool {hub.pool} is exhausted")
