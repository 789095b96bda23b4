"""Claim codes of an account: created, listed, revoked, and redeemed exactly once."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from edgeward.cloud.auth import credentials
from edgeward.cloud.enrollment.errors import (
    ClaimExpired,
    ClaimRevoked,
    ClaimTypo,
    ClaimUnknown,
    ClaimUsed,
)
from edgeward.cloud.identity.principal import new_id
from edgeward.cloud.storage.owned import owned_row
from edgeward.cloud.storage.schema import claim_codes as table
from edgeward.cloud.storage.schema import gateways
from edgeward.sync import claim_codes
from edgeward.sync.clock import format_us

DEFAULT_TTL_S = 24 * 3600


def create_claim(
    connection: sa.Connection,
    pepper: bytes,
    account_id: str,
    site: str | None,
    ttl_s: int,
    created_by: str,
    now: int,
    for_gateway_id: str | None = None,
) -> tuple[dict[str, Any], str]:
    """The claim and its code, which is shown once.

    With ``for_gateway_id`` it is a re-provisioning code: enrolling with it
    re-keys that existing gateway (replaced or reset hardware) instead of
    registering a new one, so its id, data sources and readings carry on.
    """
    if for_gateway_id is not None:
        owned_row(connection, gateways, account_id, for_gateway_id, "gateway")
    code = claim_codes.generate()
    claim_id = new_id("clm")
    connection.execute(
        table.insert().values(
            id=claim_id,
            account_id=account_id,
            code_hash=credentials.keyed_hash(pepper, code),
            code_prefix=code[:2],
            site=site,
            created_by=created_by,
            created_us=now,
            expires_us=now + ttl_s * 1_000_000,
            for_gateway_id=for_gateway_id,
        )
    )
    return get_claim(connection, account_id, claim_id, now), code


def _status(row: Any, now: int) -> str:
    if row.used_us is not None:
        return "used"
    if row.revoked_us is not None:
        return "revoked"
    return "expired" if row.expires_us <= now else "active"


def _describe(row: Any, now: int) -> dict[str, Any]:
    return {
        "id": row.id,
        "prefix": row.code_prefix,
        "site": row.site,
        "status": _status(row, now),
        "created": format_us(row.created_us),
        "created_by": row.created_by,
        "expires": format_us(row.expires_us),
        "used": format_us(row.used_us),
        "gateway_id": row.gateway_id,
        "revoked": format_us(row.revoked_us),
        "for_gateway_id": row.for_gateway_id,
    }


def get_claim(
    connection: sa.Connection, account_id: str, claim_id: str, now: int
) -> dict[str, Any]:
    row = owned_row(connection, table, account_id, claim_id, "claim code")
    return _describe(row, now)


def list_claims(connection: sa.Connection, account_id: str, now: int) -> list[dict[str, Any]]:
    rows = connection.execute(
        sa.select(table).where(table.c.account_id == account_id).order_by(table.c.created_us)
    ).all()
    return [_describe(row, now) for row in rows]


def revoke_claim(connection: sa.Connection, account_id: str, claim_id: str, now: int) -> None:
    get_claim(connection, account_id, claim_id, now)
    connection.execute(
        table.update()
        .where(table.c.id == claim_id, table.c.revoked_us.is_(None))
        .values(revoked_us=now)
    )


def normalized(typed: str) -> str:
    """The code as issued, or :class:`ClaimTypo` (a refusal like any other of the code)."""
    try:
        return claim_codes.normalize(typed)
    except claim_codes.ClaimCodeTypo as exc:
        raise ClaimTypo(str(exc), field="claim_code") from exc


def redeem(
    connection: sa.Connection, pepper: bytes, typed: str, gateway_id: str | None, now: int
) -> Any:
    """Mark the claim used (by ``gateway_id`` if known yet) and return its row, or raise why not.

    The conditional UPDATE makes redemption single-use even when two gateways
    present the same code at the same moment.
    """
    code = normalized(typed)
    row = connection.execute(
        sa.select(table).where(table.c.code_hash == credentials.keyed_hash(pepper, code))
    ).first()
    if row is None:
        raise ClaimUnknown(
            "no such claim code; check it with whoever issued it", field="claim_code"
        )
    refusal = {"used": ClaimUsed, "revoked": ClaimRevoked, "expired": ClaimExpired}.get(
        _status(row, now)
    )
    if refusal is not None:
        when = {"used": row.used_us, "revoked": row.revoked_us, "expired": row.expires_us}
        message = f"this claim code was {refusal.reason} at {format_us(when[refusal.reason])}"
        raise refusal(message, field="claim_code").about(row)
    taken = connection.execute(
        table.update()
        .where(table.c.id == row.id, table.c.used_us.is_(None))
        .values(used_us=now, gateway_id=gateway_id)
    ).rowcount
    if taken != 1:
        raise ClaimUsed(
            "this claim code was just used by another gateway", field="claim_code"
        ).about(row)
    return row
