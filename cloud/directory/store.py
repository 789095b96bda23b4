"""An account's directory settings in storage, and what changing them does to its users.

The service account's password is sealed under the cloud's master key
(AES-256-GCM, bound to the account id) and never leaves this module except
into a bind. Changing the group mapping re-derives every directory user's
grants from the groups their last sign-in found, so narrowing the mapping
narrows their tokens at once; removing the directory revokes their tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from edgeward.cloud.crypto.keys import SealedBox
from edgeward.cloud.directory.settings import DirectorySettings
from edgeward.cloud.errors import InvalidRequest, NotFound
from edgeward.cloud.identity import grants as grant_maps
from edgeward.cloud.identity.revocation import revoke_owned
from edgeward.cloud.storage.schema import directories, tokens, users
from edgeward.sync.clock import format_us

DIRECTORY_ROLE = "directory"  # the role column of directory-managed users


@dataclass(frozen=True, slots=True)
class StoredDirectory:
    settings: DirectorySettings
    service_password: str | None
    created_us: int
    updated_us: int

    def describe(self) -> dict[str, Any]:
        return {
            **self.settings.to_json(),
            "service_password_set": self.service_password is not None,
            "created": format_us(self.created_us),
            "updated": format_us(self.updated_us),
        }


def _context(account_id: str) -> str:
    return f"directory-service-password:{account_id}"


def load(connection: sa.Connection, box: SealedBox, account_id: str) -> StoredDirectory | None:
    row = connection.execute(
        sa.select(directories).where(directories.c.account_id == account_id)
    ).first()
    if row is None:
        return None
    password = None
    if row.sealed_service_password is not None:
        password = box.open(row.sealed_service_password, _context(account_id)).decode()
    return StoredDirectory(
        DirectorySettings.from_json(row.settings), password, row.created_us, row.updated_us
    )


def save(
    connection: sa.Connection,
    box: SealedBox,
    account_id: str,
    settings: DirectorySettings,
    service_password: str | None,
    now: int,
) -> StoredDirectory:
    """Create or replace the settings. Search-then-bind keeps the stored password when
    none is given and the service DN is unchanged; direct bind drops it."""
    previous = load(connection, box, account_id)
    if settings.bind_method == "direct":
        service_password = None
    elif not service_password:
        same_dn = previous is not None and previous.settings.service_dn == settings.service_dn
        if not (same_dn and previous is not None and previous.service_password):
            raise InvalidRequest(
                "search-then-bind needs the service account's password",
                field="bind.service_password",
            )
        service_password = previous.service_password
    sealed = None
    if service_password is not None:
        sealed = box.seal(service_password.encode(), _context(account_id))
    values = {"settings": settings.to_json(), "sealed_service_password": sealed, "updated_us": now}
    if previous is None:
        connection.execute(
            directories.insert().values(account_id=account_id, created_us=now, **values)
        )
    else:
        connection.execute(
            directories.update().where(directories.c.account_id == account_id).values(**values)
        )
    regrant(connection, account_id, settings)
    stored = load(connection, box, account_id)
    assert stored is not None
    return stored


def regrant(connection: sa.Connection, account_id: str, settings: DirectorySettings | None) -> None:
    """Each directory user's grants re-derived from the groups last seen (at sign-in or
    sync); none without a directory."""
    rows = connection.execute(
        sa.select(users.c.id, users.c.directory_groups).where(
            users.c.account_id == account_id, users.c.directory_id.is_not(None)
        )
    ).all()
    for row in rows:
        granted: grant_maps.Grants = {}
        if settings is not None:
            granted, _ = settings.grants_for(row.directory_groups or [])
        connection.execute(
            users.update()
            .where(users.c.id == row.id)
            .values(directory_grants=grant_maps.to_json(granted))
        )


def remove(connection: sa.Connection, account_id: str, now: int) -> int:
    """Drop the settings; directory users keep their records but hold nothing and lose
    every token. Returns how many tokens were revoked."""
    deleted = connection.execute(
        directories.delete().where(directories.c.account_id == account_id)
    ).rowcount
    if not deleted:
        raise NotFound("this account has no directory")
    regrant(connection, account_id, None)
    user_ids = connection.execute(
        sa.select(users.c.id).where(
            users.c.account_id == account_id, users.c.directory_id.is_not(None)
        )
    ).scalars()
    return sum(revoke_owned(connection, "user", user_id, now) for user_id in list(user_ids))


def sign_in_ends(connection: sa.Connection, user_id: str, token_id: str) -> int | None:
    """When the sign-in behind ``token_id`` ends, if its owner is directory-managed.

    Tokens such a user makes for themselves may not outlive it: otherwise a user
    disabled in the directory would keep a non-expiring token they minted.
    """
    row = connection.execute(
        sa.select(tokens.c.expires_us)
        .join(users, users.c.id == tokens.c.owner_id)
        .where(
            tokens.c.id == token_id,
            tokens.c.owner_kind == "user",
            users.c.id == user_id,
            users.c.directory_id.is_not(None),
        )
    ).first()
    return None if row is None else row.expires_us
