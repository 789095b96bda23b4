"""Directory sync: every directory user of an account checked against the directory now.

A sign-in refuses a disabled or removed user at once, but their tokens from
earlier sign-ins would live until they expire. A sync (``POST
/v1/directory/sync``, run by an administrator or a scheduler) looks each
directory user up with the service account: users the user filter no longer
finds lose their grants and every token at once; the others get the grants
their current groups map to, so a user taken out of a group loses its
grants without waiting for their next sign-in. Only search-then-bind
directories can sync: a direct bind has no identity to look others up with.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from edgeward.cloud.crypto.keys import SealedBox
from edgeward.cloud.directory import bind, store
from edgeward.cloud.directory.gate import DirectoryGate
from edgeward.cloud.errors import Conflict, NotFound
from edgeward.cloud.identity import grants as grant_maps
from edgeward.cloud.identity.revocation import revoke_owned
from edgeward.cloud.storage.database import Database
from edgeward.cloud.storage.schema import users


def sync(
    database: Database, box: SealedBox, gate: DirectoryGate, account_id: str, now: int
) -> dict[str, Any]:
    """What changed: users checked, those gone (grants and tokens taken), tokens revoked."""
    with database.engine.connect() as connection:
        configured = store.load(connection, box, account_id)
        rows = connection.execute(
            sa.select(users.c.id, users.c.directory_id, users.c.directory_username).where(
                users.c.account_id == account_id, users.c.directory_id.is_not(None)
            )
        ).all()
    if configured is None:
        raise NotFound("this account has no directory")
    settings = configured.settings
    if settings.bind_method != "search":
        raise Conflict("sync needs search-then-bind: a service account to look users up")
    known = {row.directory_id: row.directory_username for row in rows}
    with gate.slot(account_id, settings.max_connections, settings.timeout_s):
        now_found = bind.lookup(settings, configured.service_password, known)
    gone, revoked = [], 0
    with database.engine.begin() as connection:
        for row in rows:
            groups = now_found.get(row.directory_id)
            granted, _ = settings.grants_for(groups or ())
            connection.execute(
                users.update()
                .where(users.c.id == row.id)
                .values(
                    directory_groups=list(groups or ()),
                    directory_grants=grant_maps.to_json(granted),
                )
            )
            if groups is None:
                gone.append(row.id)
                revoked += revoke_owned(connection, "user", row.id, now)
    return {"checked": len(rows), "gone": gone, "revoked_tokens": revoked}
