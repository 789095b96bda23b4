"""Token families: one authorization and every token refreshed from it.

An access token is a row of ``tokens`` (owned by the user who consented, or
by the client's application for client credentials), tagged with its client
and family. A refresh token is a row of ``oauth_refresh_tokens``; exchanging
it marks it used and issues a new one in the same family (rotation, RFC 9700
section 4.14.2). A used refresh token presented again means two parties hold
it, so the whole family is revoked: every refresh and access token in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from edgeward.cloud.auth import credentials
from edgeward.cloud.identity import audit, tokens
from edgeward.cloud.identity import grants as grant_maps
from edgeward.cloud.identity.principal import new_id
from edgeward.cloud.storage.schema import accounts, oauth_refresh_tokens
from edgeward.cloud.storage.schema import tokens as token_table

REFRESH_TOKEN = "ewr"  # noqa: S105 - the kind prefix of refresh tokens, not a secret
ACCESS_LIFETIME_S = 3600
REFRESH_LIFETIME_S = 30 * 86_400


@dataclass(frozen=True, slots=True)
class Owner:
    """Whom a token acts for: the consenting user, or the client's application."""

    kind: str
    id: str
    account_id: str
    # What the owner may hand out now (a user's token grants, an application's grants).
    grants: grant_maps.Grants

    def get_user_id(self) -> str:
        return self.id

    @property
    def reference(self) -> str:
        return f"{self.kind}:{self.id}"


def access_lifetime_s(connection: sa.Connection, account_id: str) -> int:
    """An hour, or less if the account's policy caps token lifetimes lower."""
    cap = connection.execute(
        sa.select(accounts.c.token_max_lifetime_s).where(accounts.c.id == account_id)
    ).scalar_one()
    return ACCESS_LIFETIME_S if cap is None else min(ACCESS_LIFETIME_S, cap)


def issue_access(
    connection: sa.Connection,
    pepper: bytes,
    *,
    client: Any,
    owner: Owner,
    grants: grant_maps.Grants,
    family_id: str,
    lifetime_s: int,
    now: int,
) -> tokens.IssuedToken:
    return tokens.issue(
        connection,
        pepper,
        account_id=client.account_id,
        owner_kind=owner.kind,
        owner_id=owner.id,
        name=f"oauth2: {client.name}",
        grants=grants,
        expires_us=now + lifetime_s * 1_000_000,
        now=now,
        oauth_client_id=client.id,
        family_id=family_id,
    )


def issue_refresh(
    connection: sa.Connection,
    pepper: bytes,
    *,
    client: Any,
    owner: Owner,
    grants: grant_maps.Grants,
    family_id: str,
    now: int,
) -> str:
    secret = credentials.generate(REFRESH_TOKEN)
    connection.execute(
        oauth_refresh_tokens.insert().values(
            id=new_id("ort"),
            secret_hash=credentials.keyed_hash(pepper, secret),
            family_id=family_id,
            client_id=client.id,
            account_id=client.account_id,
            owner_kind=owner.kind,
            owner_id=owner.id,
            grants=grant_maps.to_json(grants),
            created_us=now,
            expires_us=now + REFRESH_LIFETIME_S * 1_000_000,
        )
    )
    return secret


def claim_refresh(connection: sa.Connection, pepper: bytes, secret: str, now: int) -> Any:
    """The refresh token's row, marked used by this exchange; None if it can't be used.

    The mark is one conditional UPDATE, so of two concurrent exchanges of one
    token exactly one wins. A token used before is reuse: its family is revoked.
    """
    if credentials.kind_of(secret) != REFRESH_TOKEN:
        return None
    hashed = credentials.keyed_hash(pepper, secret)
    claimed = connection.execute(
        oauth_refresh_tokens.update()
        .where(
            oauth_refresh_tokens.c.secret_hash == hashed,
            oauth_refresh_tokens.c.used_us.is_(None),
            oauth_refresh_tokens.c.revoked_us.is_(None),
            oauth_refresh_tokens.c.expires_us > now,
        )
        .values(used_us=now)
    )
    row = connection.execute(
        sa.select(oauth_refresh_tokens).where(oauth_refresh_tokens.c.secret_hash == hashed)
    ).first()
    if claimed.rowcount == 1:
        return row
    if row is not None and row.used_us is not None:
        revoked = revoke_family(connection, row.family_id, now, reason="refresh-reused")
        audit.record(
            connection,
            "oauth2.refresh.reused",
            account_id=row.account_id,
            actor=f"client:{row.client_id}",
            target=row.family_id,
            revoked_tokens=revoked,
        )
    return None


def find_refresh(connection: sa.Connection, pepper: bytes, secret: str) -> Any:
    return connection.execute(
        sa.select(oauth_refresh_tokens).where(
            oauth_refresh_tokens.c.secret_hash == credentials.keyed_hash(pepper, secret)
        )
    ).first()


def find_access(connection: sa.Connection, pepper: bytes, secret: str) -> Any:
    """An OAuth 2 access token's row (tokens of other kinds are not the server's to show)."""
    return connection.execute(
        sa.select(token_table).where(
            token_table.c.secret_hash == credentials.keyed_hash(pepper, secret),
            token_table.c.oauth_client_id.is_not(None),
        )
    ).first()


def revoke_family(connection: sa.Connection, family_id: str, now: int, reason: str) -> int:
    """Revoke every refresh and access token of the family; how many access tokens died."""
    connection.execute(
        oauth_refresh_tokens.update()
        .where(
            oauth_refresh_tokens.c.family_id == family_id,
            oauth_refresh_tokens.c.revoked_us.is_(None),
        )
        .values(revoked_us=now)
    )
    alive = connection.execute(
        sa.select(token_table.c.id).where(
            token_table.c.family_id == family_id, token_table.c.revoked_us.is_(None)
        )
    ).scalars()
    ids = list(alive)
    for token_id in ids:
        tokens.revoke(connection, token_id, now, reason=reason)
    return len(ids)


def revoke_client(connection: sa.Connection, client_id: str, now: int) -> int:
    """Everything a removed client was issued."""
    families = connection.execute(
        sa.select(token_table.c.family_id)
        .where(token_table.c.oauth_client_id == client_id)
        .union(
            sa.select(oauth_refresh_tokens.c.family_id).where(
                oauth_refresh_tokens.c.client_id == client_id
            )
        )
    ).scalars()
    return sum(revoke_family(connection, family, now, "client removed") for family in families)
