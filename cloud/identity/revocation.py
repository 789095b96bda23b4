"""Revoking every token a principal owns, when the principal goes."""

from __future__ import annotations

import sqlalchemy as sa

from edgeward.cloud.identity.tokens import revoke
from edgeward.cloud.storage.schema import tokens


def revoke_owned(connection: sa.Connection, owner_kind: str, owner_id: str, now: int) -> int:
    owned = (
        connection.execute(
            sa.select(tokens.c.id).where(
                tokens.c.owner_kind == owner_kind,
                tokens.c.owner_id == owner_id,
                tokens.c.revoked_us.is_(None),
            )
        )
        .scalars()
        .all()
    )
    for token_id in owned:
        revoke(connection, token_id, now, reason=f"{owner_kind} removed")
    return len(owned)
