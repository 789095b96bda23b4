"""Master-key rotation: a new current key, every data key re-wrapped, values untouched.

Order matters for workers that keep running: the new key is written to the
key file first (beside the old ones), so a worker reading the file opens
both old and new wraps throughout; then rows are re-wrapped in batches, each
row conditionally (only if still wrapped by the key it was read with);
finally the file keeps the new key, the key it replaced (a worker that had
not yet noticed the new file may still have wrapped one version with it;
the next rotation re-wraps that), and any key a row still names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from edgeward.cloud.connections.store import context as connection_context
from edgeward.cloud.connections.vendors import context as vendor_context
from edgeward.cloud.errors import ConfigurationError
from edgeward.cloud.keychain.keyring import (
    KEYS_VARIABLE,
    Key,
    Keyring,
    context,
    new_key,
    write_key_file,
)
from edgeward.cloud.storage.database import Database
from edgeward.cloud.storage.schema import connections, keychain_versions, vendors

BATCH = 200
# Every table holding values sealed by the keychain keyring, and each row's context.
SEALED: tuple[tuple[sa.Table, Callable[[Any], str]], ...] = (
    (keychain_versions, lambda row: context(row.secret_id, row.version)),
    (vendors, lambda row: vendor_context(row.id)),
    (connections, lambda row: connection_context(row.id)),
)


@dataclass(frozen=True, slots=True)
class Rotation:
    new_key_id: str
    rewrapped: int
    kept_key_ids: tuple[str, ...]


def rotate_master_key(database: Database, keyring: Keyring) -> Rotation:
    if keyring.path is None:
        raise ConfigurationError(
            f"${KEYS_VARIABLE}: the keychain master keys come from the environment; put a new "
            "key line first there and restart, or use a key file to rotate with this command"
        )
    fresh = new_key()
    previous = keyring.keys
    write_key_file(keyring.path, [fresh, *previous])
    rewrapped = sum(_rewrap_table(database, keyring, fresh, *sealed) for sealed in SEALED)
    still_used: set[str] = set()
    with database.engine.connect() as connection:
        for table, _ in SEALED:
            still_used.update(
                connection.execute(
                    sa.select(table.c.master_key_id)
                    .where(table.c.master_key_id.is_not(None))
                    .distinct()
                ).scalars()
            )
    kept = [fresh, previous[0]] + [
        key for key in previous[1:] if key[0] in still_used and key[0] != previous[0][0]
    ]
    write_key_file(keyring.path, kept)
    return Rotation(fresh[0], rewrapped, tuple(key_id for key_id, _ in kept))


def _rewrap_table(
    database: Database,
    keyring: Keyring,
    fresh: Key,
    table: sa.Table,
    where: Callable[[Any], str],
) -> int:
    rewrapped = 0
    while True:
        with database.engine.begin() as connection:
            rows = connection.execute(
                sa.select(table)
                .where(table.c.wrapped_key.is_not(None), table.c.master_key_id != fresh[0])
                .order_by(table.c.id)
                .limit(BATCH)
            ).all()
            for row in rows:
                wrapped = keyring.rewrap(row.wrapped_key, row.master_key_id, where(row), fresh)
                rewrapped += connection.execute(
                    table.update()
                    .where(table.c.id == row.id, table.c.master_key_id == row.master_key_id)
                    .values(wrapped_key=wrapped, master_key_id=fresh[0])
                ).rowcount
        if len(rows) < BATCH:
            return rewrapped
