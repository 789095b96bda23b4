"""The cloud's WireGuard hub interface: one peer per enrolled gateway, kept with ``wg set``.

The hub interface itself (its private key, listen port and the hub address)
belongs to the deployment, like a network interface of any server: it is
created once (kernel ``ip link add ... type wireguard`` or ``wireguard-go``)
and the cloud is told its name in ``EDGEWARD_CLOUD_HUB_INTERFACE``. The
cloud then owns the interface's peer list:

- enrollment adds ``peer <gateway key> allowed-ips <tunnel address>/32``;
- decommission removes the gateway's peer;
- key rotation adds the new key (which takes over the address) then removes
  the old one, so the tunnel never has a moment without a peer;
- at start, :func:`reconcile` makes the interface match the database: peers
  missing from the interface are added, peers the database does not know
  (decommissioned, or added by a transaction that rolled back) are removed.

Without ``EDGEWARD_CLOUD_HUB_INTERFACE`` there is no hub to keep (a lab, the
demo, the API tests) and nothing here runs. ``EDGEWARD_CLOUD_WG`` names the
``wg`` program (default ``wg`` on PATH). ``wg`` needs CAP_NET_ADMIN, so a
cloud with a hub runs as root or with that capability.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
from dataclasses import dataclass

import sqlalchemy as sa

from edgeward.cloud.errors import CloudError, ConfigurationError
from edgeward.cloud.storage.schema import gateways

log = logging.getLogger(__name__)

WG_TIMEOUT_S = 10.0
# Linux interface names: at most 15 bytes (IFNAMSIZ - 1), no slash or space.
_INTERFACE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")


class HubError(CloudError):
    """``wg`` failed or is missing: the hub's peers could not be changed."""

    status_code = 503
    code = "hub_unavailable"


@dataclass(frozen=True, slots=True)
class WireGuardHub:
    interface: str
    wg: str = "wg"

    @classmethod
    def from_environment(cls) -> WireGuardHub | None:
        interface = os.environ.get("EDGEWARD_CLOUD_HUB_INTERFACE") or None
        if interface is None:
            return None
        if not _INTERFACE_NAME.match(interface):
            raise ConfigurationError(
                "$EDGEWARD_CLOUD_HUB_INTERFACE: expected a network interface name "
                f"(1-15 of A-Z a-z 0-9 _ . -), found {interface!r}"
            )
        return cls(interface, os.environ.get("EDGEWARD_CLOUD_WG") or "wg")

    def _run(self, *args: str) -> str:
        command = [self.wg, *args]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=WG_TIMEOUT_S, check=False
            )
        except FileNotFoundError as exc:
            raise HubError(
                f"WireGuard hub: {self.wg!r} not found; install wireguard-tools "
                "(apt-get install wireguard-tools) or set $EDGEWARD_CLOUD_WG"
            ) from exc
        except subprocess.TimeoutExpired as exc:
            hung = f"WireGuard hub: `{' '.join(command)}` hung for {WG_TIMEOUT_S}s"
            raise HubError(hung) from exc
        if done.returncode != 0:
            raise HubError(
                f"WireGuard hub: `{' '.join(command)}` failed (exit {done.returncode}): "
                f"{done.stderr.strip() or done.stdout.strip()}"
            )
        return done.stdout

    def peers(self) -> dict[str, str]:
        """Public key → allowed IPs (as ``wg`` prints them) of every peer on the interface."""
        found: dict[str, str] = {}
        for line in self._run("show", self.interface, "allowed-ips").splitlines():
            key, _, allowed = line.partition("\t")
            if key:
                found[key] = allowed.strip()
        return found

    def add_peer(self, public_key: str, address: str) -> None:
        self._run("set", self.interface, "peer", public_key, "allowed-ips", f"{address}/32")
        log.info("hub %s: peer %s… for %s added", self.interface, public_key[:8], address)

    def remove_peer(self, public_key: str) -> None:
        self._run("set", self.interface, "peer", public_key, "remove")
        log.info("hub %s: peer %s… removed", self.interface, public_key[:8])

    def replace_peer(self, old_key: str | None, new_key: str, address: str) -> None:
        """New key first (it takes the address over), then the old one goes."""
        self.add_peer(new_key, address)
        if old_key and old_key != new_key:
            self.remove_peer(old_key)

    def reconcile(self, desired: dict[str, str]) -> tuple[list[str], list[str]]:
        """Make the interface hold exactly ``desired`` (key → address); (added, removed) keys."""
        present = self.peers()
        added = [key for key, address in desired.items() if present.get(key) != f"{address}/32"]
        removed = [key for key in present if key not in desired]
        for key in added:
            self.add_peer(key, desired[key])
        for key in removed:
            self.remove_peer(key)
        return added, removed


def desired_peers(connection: sa.Connection) -> dict[str, str]:
    """WireGuard key → tunnel address of every enrolled gateway still in service."""
    rows = connection.execute(
        sa.select(gateways.c.wireguard_public_key, gateways.c.tunnel_address).where(
            gateways.c.wireguard_public_key.is_not(None),
            gateways.c.tunnel_address.is_not(None),
            gateways.c.decommissioned_us.is_(None),
        )
    ).all()
    return {row.wireguard_public_key: row.tunnel_address for row in rows}


def reconcile_at_start(hub: WireGuardHub | None, engine: sa.Engine) -> None:
    """The cloud does not serve with a hub it cannot keep: a failure here stops the start."""
    if hub is None:
        return
    with engine.connect() as connection:
        desired = desired_peers(connection)
    try:
        added, removed = hub.reconcile(desired)
    except HubError as exc:
        raise ConfigurationError(f"{exc.message} (at start, reconciling the hub)") from exc
    log.info(
        "hub %s reconciled: %d peers, %d added, %d stray removed",
        hub.interface,
        len(desired),
        len(added),
        len(removed),
    )
