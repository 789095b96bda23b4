"""Rotating a gateway's identity and WireGuard keys, asked for by the gateway itself.

The request carries the new public keys and two Ed25519 signatures (RFC
8032) over :func:`edgeward.sync.enrollment.rotation_message`: one by the
identity key the cloud holds, one by the new identity key. The hub peer is
replaced inside the transaction, new key first, so the tunnel address moves
to the new key without a gap. A retry after the cloud already took the new
keys (the gateway crashed before it swapped its files) answers the same,
proved by the new key's signature alone.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from edgeward.cloud.enrollment.enrollment import public_key
from edgeward.cloud.enrollment.hub import WireGuardHub
from edgeward.cloud.errors import Forbidden, NotFound
from edgeward.cloud.identity import audit
from edgeward.cloud.storage.schema import gateways
from edgeward.sync.enrollment import rotation_message, verify


def rotate_keys(
    connection: sa.Connection,
    peers: WireGuardHub | None,
    account_id: str,
    gateway_id: str,
    body: dict[str, Any],
) -> dict[str, Any]:
    identity_key = public_key(body["identity_public_key"], "identity_public_key")
    wireguard_key = public_key(body["wireguard_public_key"], "wireguard_public_key")
    row = connection.execute(
        sa.select(gateways).where(
            gateways.c.id == gateway_id,
            gateways.c.account_id == account_id,
            gateways.c.decommissioned_us.is_(None),
        )
    ).first()
    if row is None:
        raise NotFound("no such gateway in service")
    message = rotation_message(gateway_id, identity_key, wireguard_key)
    if not verify(identity_key, body["new_signature"], message):
        raise Forbidden("new_signature is not by the new identity key", field="new_signature")
    already = (row.identity_public_key, row.wireguard_public_key) == (identity_key, wireguard_key)
    if not already:
        if row.identity_public_key is None:
            raise Forbidden("this gateway was registered without keys; re-provision it instead")
        if not verify(row.identity_public_key, body["signature"], message):
            raise Forbidden(
                "signature is not by the gateway's current identity key", field="signature"
            )
        connection.execute(
            gateways.update()
            .where(gateways.c.id == gateway_id)
            .values(identity_public_key=identity_key, wireguard_public_key=wireguard_key)
        )
        audit.record(
            connection,
            "gateway.keys-rotated",
            account_id=account_id,
            actor=f"gateway:{gateway_id}",
            target=gateway_id,
        )
    if peers is not None and row.tunnel_address is not None:
        peers.replace_peer(row.wireguard_public_key, wireguard_key, row.tunnel_address)
    return {
        "gateway_id": gateway_id,
        "identity_public_key": identity_key,
        "wireguard_public_key": wireguard_key,
        "tunnel_address": row.tunnel_address,
    }
