"""Enrollment: a gateway trades a claim code and its public keys for everything it needs.

In one transaction: the claim is redeemed (single use), the gateway is
registered with its Ed25519 identity key and WireGuard key, it gets a
credential (shown once, here) and a tunnel address, and the answer carries
the WireGuard settings, the cloud's URL inside the tunnel, the cloud's
registry-signing key and the gateway's signed registry. Nothing half done
survives a failure: the transaction rolls back and the code stays usable.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import sqlalchemy as sa

from edgeward.cloud.crypto.keys import SealedBox, Signer
from edgeward.cloud.datasources.registry import signed_registry
from edgeward.cloud.errors import Conflict, InvalidRequest
from edgeward.cloud.gateways import add_gateway
from edgeward.cloud.identity import audit
from edgeward.cloud.provisioning.claims import redeem
from edgeward.cloud.provisioning.tunnel import HubSettings, allocate_address
from edgeward.cloud.storage.schema import claim_codes, gateways

ALLOCATION_ATTEMPTS = 5


def _public_key(value: str, field: str) -> str:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequest("expected a base64 public key", field=field) from exc
    if len(raw) != 32:
        raise InvalidRequest("expected a 32-byte public key", field=field)
    return base64.b64encode(raw).decode()


def enroll(
    connection: sa.Connection,
    pepper: bytes,
    box: SealedBox,
    signer: Signer,
    hub: HubSettings,
    body: dict[str, Any],
    now: int,
) -> dict[str, Any]:
    identity_key = _public_key(body["identity_public_key"], "identity_public_key")
    wireguard_key = _public_key(body["wireguard_public_key"], "wireguard_public_key")
    name = body.get("name") or "gateway"
    claim = redeem(connection, pepper, body["claim_code"], None, now)
    gateway = add_gateway(connection, pepper, claim.account_id, name, now)
    tunnel_address = _assign_tunnel_address(connection, hub, gateway.id)
    connection.execute(
        gateways.update()
        .where(gateways.c.id == gateway.id)
        .values(
            identity_public_key=identity_key,
            wireguard_public_key=wireguard_key,
            site=claim.site,
        )
    )
    connection.execute(
        claim_codes.update().where(claim_codes.c.id == claim.id).values(gateway_id=gateway.id)
    )
    audit.record(
        connection,
        "provisioning.enrolled",
        account_id=claim.account_id,
        actor=f"claim:{claim.id}",
        target=gateway.id,
        site=claim.site,
        tunnel_address=tunnel_address,
    )
    registry = signed_registry(connection, box, signer, claim.account_id, gateway.id)
    return {
        "gateway_id": gateway.id,
        "account_id": claim.account_id,
        "site": claim.site,
        "credential": gateway.credential,
        "tunnel_address": tunnel_address,
        "wireguard": hub.offer(tunnel_address),
        "cloud": {
            "url_in_tunnel": hub.cloud_url if hub.endpoint else None,
            "registry_public_key": signer.public_key_b64,
        },
        "registry": {"body": registry.body.decode(), "signature": registry.signature},
        "note": "the credential is shown once; the cloud keeps only a keyed hash of it",
    }


def _assign_tunnel_address(connection: sa.Connection, hub: HubSettings, gateway_id: str) -> str:
    """The lowest free pool address, taken under the unique constraint.

    Two enrollments at once may pick the same address; the loser's UPDATE
    fails inside a savepoint and it picks again, instead of failing the
    enrollment (PostgreSQL would otherwise abort the whole transaction).
    """
    for _ in range(ALLOCATION_ATTEMPTS):
        address = allocate_address(connection, hub)
        try:
            with connection.begin_nested():
                connection.execute(
                    gateways.update()
                    .where(gateways.c.id == gateway_id)
                    .values(tunnel_address=address)
                )
        except sa.exc.IntegrityError:
            continue
        return address
    raise Conflict("could not assign a tunnel address; enrollments are racing, retry")
