"""Reading one object of an account: the account filter and the 404 in one place.

Every table of tenant objects has ``id`` and ``account_id`` columns; asking
for an id through another account's token finds nothing and answers 404,
exactly as an id that does not exist, so ids can't be probed.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from edgeward.cloud.errors import NotFound


def owned_row(
    connection: sa.Connection, table: sa.Table, account_id: str, object_id: str, what: str
) -> Any:
    row = connection.execute(
        sa.select(table).where(table.c.id == object_id, table.c.account_id == account_id)
    ).first()
    if row is None:
        raise NotFound(f"no {what} {object_id!r}")
    return row


def owned_ids(connection: sa.Connection, table: sa.Table, account_id: str) -> list[str]:
    """The account's object ids, oldest first."""
    return list(
        connection.execute(
            sa.select(table.c.id)
            .where(table.c.account_id == account_id)
            .order_by(table.c.created_us, table.c.id)
        ).scalars()
    )
