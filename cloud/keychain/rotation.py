"""Master-key rotation: a new current key, every data key re-wrapped, values untouched.

Order matters for workers that keep running: the new key is written to the
key file first (beside the old ones), so a worker reading the file opens
both old and new wraps throughout; then rows are re-wrapped in batches, each
row conditionally (only if still wrapped by the key it was read with);
finally the file keeps the new key, the key it replaced (a worker that had
not yet noticed the new file may still have wrapped one version with it;
the next rotation re-wraps that), and any key a row still names.

Other rooms seal with the same keyring (connections: vendor secrets and
tokens). The keychain does not know them: whoever rotates passes every
:class:`SealedTable`, the keychain's own (:data:`KEYCHAIN_TABLES`) among them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

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
from edgeward.cloud.storage.schema import keychain_versions

BATCH = 200


@dataclass(frozen=True, slots=True)
class SealedTable:
    """A table whose rows hold values sealed by the keychain keyring.

    ``context`` gives a row's associated data, as it was sealed; the table
    has ``id``, ``wrapped_key`` and ``master_key_id`` columns.
    """

    table: sa.Table
    context: Callable[[Any], str]


KEYCHAIN_TABLES = (SealedTable(keychain_versions, lambda row: context(row.secret_id, row.version)),)


@dataclass(frozen=True, slots=True)
class Rotation:
    new_key_id: str
    rewrapped: int
    kept_key_ids: tuple[str, ...]


def rotate_master_key(
    database: Database, keyring: Keyring, sealed: Sequence[SealedTable]
) -> Rotation:
    """Rotate to a new master key and re-wrap every data key in ``sealed``'s tables."""
    if keyring.path is None:
        raise ConfigurationError(
            f"${KEYS_VARIABLE}: the keychain master keys come from the environment; put a new "
            "key line first there and restart, or use a key file to rotate with this command"
        )
    fresh = new_key()
    previous = keyring.keys
    write_key_file(keyring.path, [fresh, *previous])
    rewrapped = sum(_rewrap_table(database, keyring, fresh, each) for each in sealed)
    still_used: set[str] = set()
    with database.engine.connect() as connection:
        for table in (each.table for each in sealed):
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


def _rewrap_table(database: Database, keyring: Keyring, fresh: Key, sealed: SealedTable) -> int:
    table, where = sealed.table, sealed.context
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
