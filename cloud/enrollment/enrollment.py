"""Enrollment: a gateway trades a claim code and its public keys for everything it needs.

First the gateway proves it holds the identity key it announces: the request
is signed by that key (Ed25519, RFC 8032) over
:func:`edgeward.sync.enrollment.enrollment_message`, which binds the code
and both public keys. Public keys are not secret; without this proof an
enrollment could register an identity key copied from another gateway, which
its sender could never use. The check comes before the claim is looked up,
so a missing or bad signature never consumes the code and learns nothing
about it. Like a bad signature on a key rotation it is 403 on ``signature``;
like a malformed key it is not a refusal of the code, so it is neither
audited as one nor counted against the caller's address (it tested no code).

Then, in one transaction: the claim is redeemed (single use), the gateway is
registered with its Ed25519 identity key and WireGuard key, it gets a
credential (shown once, here, sealed to its WireGuard key) and a tunnel
address, and the answer carries the WireGuard settings, the cloud's URL
inside the tunnel, the cloud's registry-signing key and the gateway's
signed registry. Nothing half done
survives a failure: the transaction rolls back and the code stays usable.

The hub peer is added last, inside the transaction: if ``wg`` fails the
enrollment fails whole; if the commit fails after ``wg`` succeeded, the stray
peer goes at the next start (:func:`edgeward.cloud.enrollment.hub.reconcile_at_start`).

A re-provisioning code (one created for an existing gateway) re-keys that
gateway instead: its old credentials are revoked, it gets a new one and
keeps its id, tunnel address, data sources and readings.

An interrupted enrollment is answered again under the rule in
:mod:`edgeward.cloud.enrollment.replay` (same code, same keys, so signed by
the gateway's own identity key): the same way, as a re-keying of the gateway
that code enrolled.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import sqlalchemy as sa

from edgeward.cloud.crypto.keys import SealedBox, Signer
from edgeward.cloud.datasources.signed_registry import signed_registry
from edgeward.cloud.enrollment.claims import normalized, redeem
from edgeward.cloud.enrollment.errors import ClaimUsed
from edgeward.cloud.enrollment.hub import WireGuardHub
from edgeward.cloud.enrollment.replay import repeatable
from edgeward.cloud.enrollment.tunnel import HubSettings, allocate_address
from edgeward.cloud.errors import Conflict, Forbidden, InvalidRequest
from edgeward.cloud.fleet.gateways import NewGateway, add_gateway, issue_credential
from edgeward.cloud.identity import audit
from edgeward.cloud.identity.revocation import revoke_owned
from edgeward.cloud.storage.schema import claim_codes, gateways
from edgeward.sync.enrollment import enrollment_message, seal_credential, verify

ALLOCATION_ATTEMPTS = 5


def public_key(value: str, field: str) -> str:
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
    peers: WireGuardHub | None,
    body: dict[str, Any],
    now: int,
) -> dict[str, Any]:
    identity_key = public_key(body["identity_public_key"], "identity_public_key")
    wireguard_key = public_key(body["wireguard_public_key"], "wireguard_public_key")
    name = body.get("name") or "gateway"
    _proof_of_possession(body, identity_key, wireguard_key)
    try:
        claim, repeated = redeem(connection, pepper, body["claim_code"], None, now), False
    except ClaimUsed as used:
        claim = repeatable(connection, used.claim_id, identity_key, wireguard_key, now)
        if claim is None:
            raise
        repeated = True
    existing = claim.gateway_id if repeated else claim.for_gateway_id
    old_wireguard_key: str | None = None
    if existing is None:
        gateway = add_gateway(connection, pepper, claim.account_id, name, now)
        tunnel_address = _assign_tunnel_address(connection, hub, gateway.id)
    else:
        gateway, tunnel_address, old_wireguard_key = _reprovision(
            connection, pepper, hub, claim.account_id, existing, now
        )
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
        _event(claim, repeated),
        account_id=claim.account_id,
        actor=f"claim:{claim.id}",
        target=gateway.id,
        site=claim.site,
        tunnel_address=tunnel_address,
    )
    registry = signed_registry(connection, box, signer, claim.account_id, gateway.id)
    if peers is not None:
        peers.replace_peer(old_wireguard_key, wireguard_key, tunnel_address)
    return {
        "gateway_id": gateway.id,
        "account_id": claim.account_id,
        "site": claim.site,
        # Only the gateway opens it: a replayed enrollment gets nothing it can use.
        "sealed_credential": seal_credential(gateway.credential, wireguard_key),
        "tunnel_address": tunnel_address,
        "wireguard": hub.offer(tunnel_address),
        "cloud": {
            "url_in_tunnel": hub.cloud_url if hub.endpoint else None,
            "registry_public_key": signer.public_key_b64,
        },
        "registry": {"body": registry.body.decode(), "signature": registry.signature},
        "note": "the credential is shown once, sealed to the gateway's WireGuard key; "
        "the cloud keeps only a keyed hash of it",
    }


def _proof_of_possession(body: dict[str, Any], identity_key: str, wireguard_key: str) -> None:
    """Refuse, before the claim is redeemed, a request not signed by the announced identity key."""
    message = enrollment_message(normalized(body["claim_code"]), identity_key, wireguard_key)
    if not verify(identity_key, str(body["signature"]), message):
        raise Forbidden(
            "signature is not by the announced identity key over this claim code and these keys",
            field="signature",
        )


def _event(claim: Any, repeated: bool) -> str:
    if repeated:
        return "provisioning.enrollment-repeated"
    return "provisioning.re-provisioned" if claim.for_gateway_id else "provisioning.enrolled"


def _reprovision(
    connection: sa.Connection,
    pepper: bytes,
    hub: HubSettings,
    account_id: str,
    gateway_id: str,
    now: int,
) -> tuple[NewGateway, str, str | None]:
    """The existing gateway with a new credential (the old ones revoked), back in service."""
    row = connection.execute(
        sa.select(gateways).where(gateways.c.id == gateway_id, gateways.c.account_id == account_id)
    ).one()
    revoke_owned(connection, "gateway", row.id, now)
    gateway = issue_credential(connection, pepper, row.account_id, row.id, row.name, now)
    connection.execute(
        gateways.update().where(gateways.c.id == row.id).values(decommissioned_us=None)
    )
    address = row.tunnel_address or _assign_tunnel_address(connection, hub, row.id)
    return gateway, address, row.wireguard_public_key


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
