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

from dataclasses import dataclass

import sqlalchemy as sa

from edgeward.cloud.errors import ConfigurationError
from edgeward.cloud.keychain.keyring import KEYS_VARIABLE, Keyring, context, new_key, write_key_file
from edgeward.cloud.storage.database import Database
from edgeward.cloud.storage.schema import keychain_versions

BATCH = 200


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
    rewrapped = 0
    while True:
        with database.engine.begin() as connection:
            rows = connection.execute(
                sa.select(
                    keychain_versions.c.id,
                    keychain_versions.c.secret_id,
                    keychain_versions.c.version,
                    keychain_versions.c.wrapped_key,
                    keychain_versions.c.master_key_id,
                )
                .where(
                    keychain_versions.c.wrapped_key.is_not(None),
                    keychain_versions.c.master_key_id != fresh[0],
                )
                .order_by(keychain_versions.c.id)
                .limit(BATCH)
            ).all()
            for row in rows:
                wrapped = keyring.rewrap(
                    row.wrapped_key,
                    row.master_key_id,
                    context(row.secret_id, row.version),
                    fresh,
                )
                rewrapped += connection.execute(
                    keychain_versions.update()
                    .where(
                        keychain_versions.c.id == row.id,
                        keychain_versions.c.master_key_id == row.master_key_id,
                    )
                    .values(wrapped_key=wrapped, master_key_id=fresh[0])
                ).rowcount
        if len(rows) < BATCH:
            break
    with database.engine.connect() as connection:
        still_used = set(
            connection.execute(
                sa.select(keychain_versions.c.master_key_id)
                .where(keychain_versions.c.master_key_id.is_not(None))
                .distinct()
            ).scalars()
        )
    kept = [fresh, previous[0]] + [
        key for key in previous[1:] if key[0] in still_used and key[0] != previous[0][0]
    ]
    write_key_file(keyring.path, kept)
    return Rotation(fresh[0], rewrapped, tuple(key_id for key_id, _ in kept))
