"""An interrupted enrollment, answered again: the rule and its checks.

A gateway can be cut off (power, SIGKILL, a dropped connection) after the
cloud enrolled it and before it saved the answer. Its installer saved the
keys and the claim code first, so the re-run presents the same code with the
same keys; instead of refusing the code as used, the cloud answers the same
enrollment again when all of these hold:

- the code enrolled a gateway that is still in service, and is neither
  revoked nor past its expiry (the validity window of the code);
- the gateway holds exactly the identity and WireGuard keys presented;
- the gateway has never called the cloud with a credential it still holds
  (one it used was saved, so there is nothing to answer again, and a replay
  must not revoke it).

The request is signed by that identity key (Ed25519, RFC 8032) over
:func:`edgeward.sync.enrollment.enrollment_message`, as every enrollment
is, checked before the code is even looked at
(:mod:`edgeward.cloud.enrollment.enrollment`). That proof is what makes
this rule possible: public keys are not secret, so without it anyone holding
the code could take the gateway's credential. It is no freshness proof (the
same code and keys always give the same signature), so a captured request
can be replayed; what it gets is a credential sealed to the gateway's
WireGuard key, which only the gateway opens, and only before the gateway
first used its credential.

The answer is the same gateway, tunnel address and peer, with a new
credential (the cloud keeps only hashes, so the first one cannot be shown
again; it is revoked, having never been saved by the gateway). Audited as
``provisioning.enrollment-repeated``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from edgeward.cloud.storage.schema import claim_codes, gateways, tokens


def repeatable(
    connection: sa.Connection,
    claim_id: str | None,
    identity_key: str,
    wireguard_key: str,
    now: int,
) -> Any | None:
    """The used claim's row if this (already signed) request may be answered again, else None."""
    if claim_id is None:
        return None
    claim = connection.execute(sa.select(claim_codes).where(claim_codes.c.id == claim_id)).first()
    if claim is None or claim.gateway_id is None or claim.revoked_us is not None:
        return None
    if claim.expires_us <= now:
        return None
    gateway = connection.execute(
        sa.select(gateways).where(gateways.c.id == claim.gateway_id)
    ).first()
    if gateway is None or gateway.decommissioned_us is not None:
        return None
    if (gateway.identity_public_key, gateway.wireguard_public_key) != (identity_key, wireguard_key):
        return None
    return None if _credential_used(connection, gateway.id) else claim


def _credential_used(connection: sa.Connection, gateway_id: str) -> bool:
    used = connection.execute(
        sa.select(tokens.c.id)
        .where(
            tokens.c.owner_kind == "gateway",
            tokens.c.owner_id == gateway_id,
            tokens.c.revoked_us.is_(None),
            tokens.c.last_used_us.is_not(None),
        )
        .limit(1)
    ).first()
    return used is not None
