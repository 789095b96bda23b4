"""The tunnel as a wg-quick file, so the appliance image brings the same tunnel up at boot.

The image's ``edgeward-tunnel.service`` runs ``wg-quick up
/etc/edgeward/wireguard/edgeward0.conf``; provisioning writes that file
(mode 0600 in a 0700 directory: it holds the WireGuard private key) with the
keys and addresses it also gives ``wg``/``ip`` when it brings the tunnel up
itself, so the tunnel after a reboot is the one provisioning checked.
Format: wg-quick(8) (``[Interface]`` and ``[Peer]``); wg-quick adds the
routes for ``AllowedIPs`` itself.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from edgeward.provisioning.errors import WriteError
from edgeward.provisioning.keys import GatewayKeys
from edgeward.provisioning.state import write

DIRECTORY_MODE = 0o700


def render(keys: GatewayKeys, offer: dict[str, Any]) -> str:
    lines = [
        "# Written by `edgeward provision`; rewritten on re-runs and key rotations.",
        "[Interface]",
        f"PrivateKey = {keys.wireguard_private}",
        f"Address = {offer['address']}",
        "",
        "[Peer]",
        f"PublicKey = {offer['hub_public_key']}",
        f"Endpoint = {offer['hub_endpoint']}",
        f"AllowedIPs = {', '.join(offer['allowed_ips'])}",
        f"PersistentKeepalive = {offer.get('persistent_keepalive', 25)}",
    ]
    return "\n".join(lines) + "\n"


def write_wg_quick(path: Path, keys: GatewayKeys, offer: dict[str, Any]) -> None:
    """The file whole (0600), its directory created or tightened to 0700."""
    try:
        path.parent.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
        os.chmod(path.parent, DIRECTORY_MODE)
    except OSError as exc:
        raise WriteError(f"cannot prepare {path.parent}: {exc.strerror or exc}") from exc
    write(path, render(keys, offer).encode())
