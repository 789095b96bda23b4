"""A directory sign-in: user name and password in, an expiring token out.

The token is the same kind as any other: tied to a user record of the
account (created on the first sign-in, linked by the directory entry's
stable id afterwards, role ``directory``), granted what the account's group
mapping gives the groups the directory reports, and never more. That user
holds exactly those grants until their next sign-in (or a mapping change),
so the token is narrowed at every use like any other.

A user the directory no longer finds (removed, or left out by the user
filter because disabled) is refused, and the tokens of the directory user
last seen with that name are revoked at once: the directory is the
authority, so its "no such user" needs no password to act on.

No LDAP work happens inside a database transaction: a slow directory must
not hold database connections.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from edgeward.cloud.crypto.keys import SealedBox
from edgeward.cloud.directory import bind, store
from edgeward.cloud.directory.gate import DirectoryGate
from edgeward.cloud.directory.settings import DirectorySettings
from edgeward.cloud.errors import Conflict, InvalidRequest
from edgeward.cloud.identity import audit, tokens
from edgeward.cloud.identity import grants as grant_maps
from edgeward.cloud.identity.principal import new_id
from edgeward.cloud.identity.revocation import revoke_owned
from edgeward.cloud.storage.database import Database
from edgeward.cloud.storage.schema import accounts, users
from edgeward.sync.clock import format_us

# Refusals after which the directory user last seen with that name loses their tokens.
GONE = ("not-found-or-disabled",)
LINK_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Attempt:
    account_id: str
    username: str
    password: str = field(repr=False)
    client: str | None


class SignInRefused(Exception):
    """Nobody gets in; ``reason`` is audited. ``proved`` when the password was right
    (the user may learn they hold nothing here)."""

    def __init__(self, reason: str, proved: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.proved = proved


def sign_in(
    database: Database,
    box: SealedBox,
    pepper: bytes,
    gate: DirectoryGate,
    attempt: Attempt,
    now: int,
) -> dict[str, Any]:
    """The new token, shown once; or SignInRefused / DirectoryUnavailable / DirectoryBusy,
    each audited in the account."""
    if not attempt.password:
        _audit_failure(database, attempt, "empty-password")
        raise InvalidRequest(
            "an empty password would be an unauthenticated bind (RFC 4513 §5.1.2)",
            field="password",
        )
    with database.engine.connect() as connection:
        configured = _load(connection, box, attempt.account_id)
    if configured is None:
        raise _refused(database, attempt, "no-directory", now)
    settings = configured.settings
    try:
        with gate.slot(attempt.account_id, settings.max_connections, settings.timeout_s):
            found = bind.authenticate(
                settings, configured.service_password, attempt.username, attempt.password
            )
    except bind.DirectoryRefused as refused:
        raise _refused(database, attempt, refused.reason, now) from None
    except bind.DirectoryUnavailable as away:
        _audit_failure(database, attempt, "directory-unavailable", detail=away.reason)
        raise
    granted, matched = settings.grants_for(found.groups)
    if not granted:
        raise _refused(database, attempt, "no-mapped-group", now, proved=True)
    with database.engine.begin() as connection:
        user_id, disabled = _link_user(connection, attempt.account_id, found, matched, granted, now)
        if not disabled:
            return _issue(connection, pepper, attempt, user_id, granted, matched, settings, now)
    raise _refused(database, attempt, "user-disabled", now, proved=True)


def _load(
    connection: sa.Connection, box: SealedBox, account_id: str
) -> store.StoredDirectory | None:
    if len(account_id) > 32:
        return None
    return store.load(connection, box, account_id)


def _refused(
    database: Database, attempt: Attempt, reason: str, now: int, proved: bool = False
) -> SignInRefused:
    revoked = 0
    with database.engine.begin() as connection:
        if reason in GONE:
            revoked = _revoke_gone(connection, attempt, now)
    _audit_failure(database, attempt, reason, revoked_tokens=revoked)
    return SignInRefused(reason, proved)


def _audit_failure(database: Database, attempt: Attempt, reason: str, **details: Any) -> None:
    """The reason and the user name; never the password."""
    with database.engine.begin() as connection:
        known = connection.execute(
            sa.select(accounts.c.id).where(accounts.c.id == attempt.account_id[:32])
        ).first()
        audit.record(
            connection,
            "directory.sign-in-failed",
            account_id=known.id if known else None,
            client=attempt.client,
            reason=reason,
            username=attempt.username[:256],
            **details,
        )


def _revoke_gone(connection: sa.Connection, attempt: Attempt, now: int) -> int:
    gone = connection.execute(
        sa.select(users.c.id).where(
            users.c.account_id == attempt.account_id,
            users.c.directory_username == attempt.username.lower(),
        )
    ).scalars()
    return sum(revoke_owned(connection, "user", user_id, now) for user_id in list(gone))


def _link_user(
    connection: sa.Connection,
    account_id: str,
    found: bind.DirectoryUser,
    matched: list[str],
    granted: grant_maps.Grants,
    now: int,
) -> tuple[str, bool]:
    """The user record of this directory entry (made on first sign-in), brought up to
    date; and whether the account disabled it locally.

    Two first sign-ins at once both find no record; the loser's insert fails on the
    unique (account, directory id) inside a savepoint and it links to the winner's.
    """
    values = {
        "directory_username": found.username[:256],
        "directory_groups": list(found.groups),  # all of them: a wider mapping applies at once
        "directory_grants": grant_maps.to_json(granted),
        "directory_sign_in_us": now,
    }
    for _ in range(LINK_ATTEMPTS):
        row = connection.execute(
            sa.select(users.c.id, users.c.disabled_us).where(
                users.c.account_id == account_id, users.c.directory_id == found.entry_id
            )
        ).first()
        if row is not None:
            connection.execute(users.update().where(users.c.id == row.id).values(**values))
            return str(row.id), row.disabled_us is not None
        user_id = new_id("usr")
        # Read before the savepoint: on SQLite a read inside it would pin a snapshot
        # that a concurrent writer invalidates ("database is locked", no busy wait).
        email = _free_email(connection, account_id, found)
        try:
            with connection.begin_nested():
                connection.execute(
                    users.insert().values(
                        id=user_id,
                        account_id=account_id,
                        email=email,
                        role=store.DIRECTORY_ROLE,
                        created_us=now,
                        directory_id=found.entry_id,
                        **values,
                    )
                )
        except sa.exc.IntegrityError:
            continue
        audit.record(
            connection,
            "user.created",
            account_id=account_id,
            actor="directory",
            target=user_id,
            role=store.DIRECTORY_ROLE,
            username=found.username,
        )
        return user_id, False
    raise Conflict("sign-ins of this user are racing; retry")


def _free_email(connection: sa.Connection, account_id: str, found: bind.DirectoryUser) -> str:
    """The entry's mail if no user of the account has it (never linking to that user:
    a directory entry claiming a local owner's address must not become the owner)."""
    fallback = f"{found.username[:200]}@directory.invalid"  # RFC 2606 reserved name
    for email in (found.mail, fallback, f"{found.entry_id[-12:]}.{fallback}"):
        if not email or len(email) > 320:
            continue
        taken = connection.execute(
            sa.select(users.c.id).where(users.c.account_id == account_id, users.c.email == email)
        ).first()
        if taken is None:
            return email
    return f"{new_id('dir')}@directory.invalid"


def _issue(
    connection: sa.Connection,
    pepper: bytes,
    attempt: Attempt,
    user_id: str,
    granted: grant_maps.Grants,
    matched: list[str],
    settings: DirectorySettings,
    now: int,
) -> dict[str, Any]:
    cap = connection.execute(
        sa.select(accounts.c.token_max_lifetime_s).where(accounts.c.id == attempt.account_id)
    ).scalar_one()
    lifetime = settings.token_lifetime_s if cap is None else min(cap, settings.token_lifetime_s)
    issued = tokens.issue(
        connection,
        pepper,
        account_id=attempt.account_id,
        owner_kind="user",
        owner_id=user_id,
        name="directory sign-in",
        grants=granted,
        expires_us=now + lifetime * 1_000_000,
        now=now,
    )
    shown = grant_maps.to_json(granted)
    audit.record(
        connection,
        "directory.sign-in",
        account_id=attempt.account_id,
        actor=f"user:{user_id}",
        target=issued.id,
        client=attempt.client,
        username=attempt.username[:256],
        groups=matched,
        grants=shown,
        prefix=issued.prefix,
        expires=format_us(issued.expires_us),
    )
    return {
        "id": issued.id,
        "secret": issued.secret,
        "prefix": issued.prefix,
        "owner": {"kind": "user", "id": user_id},
        "grants": shown,
        "groups": matched,
        "expires": format_us(issued.expires_us),
        "note": "the secret is shown once; the cloud keeps only a keyed hash of it",
    }
