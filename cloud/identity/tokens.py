"""Tokens: issued, checked, listed, regenerated and revoked.

A token's stored grants are narrowed at every use to what its owner holds
then, so taking a grant from a user or application narrows its tokens at
once without touching them. Authentication is one indexed lookup by keyed
hash (see :mod:`edgeward.cloud.auth.credentials`) plus a constant-time
comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from edgeward.cloud.auth import credentials
from edgeward.cloud.errors import InvalidRequest
from edgeward.cloud.identity import grants as grant_maps
from edgeward.cloud.identity.principal import Principal, new_id
from edgeward.cloud.storage.schema import (
    accounts,
    applications,
    gateways,
    oauth_clients,
    tokens,
    users,
)
from edgeward.sync.clock import format_us

# last_used_us is written at most this often per token: a write per request
# would cost more than the whole authentication.
LAST_USED_RESOLUTION_US = 60 * 1_000_000


@dataclass(frozen=True, slots=True)
class IssuedToken:
    id: str
    secret: str  # shown once, never stored
    prefix: str
    expires_us: int | None


@dataclass(frozen=True, slots=True)
class Authentication:
    """The outcome of presenting a secret; ``reason`` says why it failed, for the audit."""

    principal: Principal | None
    reason: str
    token_id: str | None = None
    account_id: str | None = None


def issue(
    connection: sa.Connection,
    pepper: bytes,
    *,
    account_id: str,
    owner_kind: str,
    owner_id: str,
    name: str,
    grants: grant_maps.Grants,
    expires_us: int | None,
    now: int,
    oauth_client_id: str | None = None,
    family_id: str | None = None,
) -> IssuedToken:
    """A new token row; ``oauth_client_id``/``family_id`` mark OAuth 2 access tokens."""
    kind = credentials.GATEWAY_CREDENTIAL if owner_kind == "gateway" else credentials.API_TOKEN
    secret = credentials.generate(kind)
    token_id = new_id("tok")
    connection.execute(
        tokens.insert().values(
            id=token_id,
            account_id=account_id,
            owner_kind=owner_kind,
            owner_id=owner_id,
            name=name,
            secret_hash=credentials.keyed_hash(pepper, secret),
            secret_prefix=credentials.display_prefix(secret),
            grants=grant_maps.to_json(grants),
            created_us=now,
            expires_us=expires_us,
            oauth_client_id=oauth_client_id,
            family_id=family_id,
        )
    )
    return IssuedToken(token_id, secret, credentials.display_prefix(secret), expires_us)


def expiry_within_policy(
    connection: sa.Connection, account_id: str, expires_in_s: int | None, now: int
) -> int | None:
    """The expiry time for a new token, refused if the account's policy caps lifetimes."""
    cap = connection.execute(
        sa.select(accounts.c.token_max_lifetime_s).where(accounts.c.id == account_id)
    ).scalar_one()
    if cap is not None and (expires_in_s is None or expires_in_s > cap):
        raise InvalidRequest(
            f"this account's policy caps token lifetime at {cap} seconds", field="expires_in"
        )
    return None if expires_in_s is None else now + expires_in_s * 1_000_000


# An OAuth 2 access token also answers to its client: the client's application
# bounds it, and a removed client or disabled application ends it.
_client_applications = applications.alias("client_applications")
_AUTH_BASE = (
    sa.select(
        tokens,
        accounts.c.revoke_unused_after_s,
        oauth_clients.c.revoked_us.label("client_revoked_us"),
        _client_applications.c.grants.label("client_grants"),
        _client_applications.c.disabled_us.label("client_disabled_us"),
        users.c.role.label("user_role"),
        users.c.disabled_us.label("user_disabled_us"),
        users.c.directory_grants.label("user_directory_grants"),
        applications.c.grants.label("application_grants"),
        applications.c.disabled_us.label("application_disabled_us"),
        gateways.c.decommissioned_us.label("gateway_decommissioned_us"),
    )
    .join(accounts, accounts.c.id == tokens.c.account_id)
    .outerjoin(users, sa.and_(tokens.c.owner_kind == "user", users.c.id == tokens.c.owner_id))
    .outerjoin(
        applications,
        sa.and_(tokens.c.owner_kind == "application", applications.c.id == tokens.c.owner_id),
    )
    .outerjoin(
        gateways, sa.and_(tokens.c.owner_kind == "gateway", gateways.c.id == tokens.c.owner_id)
    )
    .outerjoin(oauth_clients, oauth_clients.c.id == tokens.c.oauth_client_id)
    .outerjoin(_client_applications, _client_applications.c.id == oauth_clients.c.application_id)
)
# Built once: constructing the expression per request cost more than the query.
_AUTH_QUERY = _AUTH_BASE.where(
    sa.or_(
        tokens.c.secret_hash == sa.bindparam("presented"),
        tokens.c.grace_hash == sa.bindparam("presented"),
    )
)
_AUTH_BY_ID = _AUTH_BASE.where(tokens.c.id == sa.bindparam("token_id"))


def authenticate(connection: sa.Connection, pepper: bytes, secret: str, now: int) -> Authentication:
    if credentials.kind_of(secret) is None:
        return Authentication(None, "malformed")
    presented = credentials.keyed_hash(pepper, secret)
    row = connection.execute(_AUTH_QUERY, {"presented": presented}).first()
    if row is None:
        return Authentication(None, "unknown")
    failed = _why_secret_invalid(row, pepper, secret, now)
    if failed:
        return Authentication(None, failed, row.id, row.account_id)
    return _usable(connection, row, now)


def authenticate_by_id(connection: sa.Connection, token_id: str, now: int) -> Authentication:
    """The token ``token_id`` as a principal, for credentials that prove possession
    some other way (an OAuth 1.0a signature) but share the token's grants and life."""
    row = connection.execute(_AUTH_BY_ID, {"token_id": token_id}).first()
    if row is None:
        return Authentication(None, "unknown")
    return _usable(connection, row, now)


def _usable(connection: sa.Connection, row: Any, now: int) -> Authentication:
    failed = _why_unusable(connection, row, now)
    if failed:
        return Authentication(None, failed, row.id, row.account_id)
    held = _held_by_owner(row)
    if held is None:
        return Authentication(None, "owner-disabled", row.id, row.account_id)
    if row.last_used_us is None or now - row.last_used_us > LAST_USED_RESOLUTION_US:
        connection.execute(tokens.update().where(tokens.c.id == row.id).values(last_used_us=now))
    principal = Principal(
        kind=row.owner_kind,
        id=row.owner_id,
        account_id=row.account_id,
        token_id=row.id,
        grants=grant_maps.intersect(grant_maps.from_json(row.grants), held),
        held=held,
    )
    return Authentication(principal, "ok", row.id, row.account_id)


def _why_secret_invalid(row: Any, pepper: bytes, secret: str, now: int) -> str | None:
    if credentials.matches(pepper, secret, row.secret_hash):
        return None
    if row.grace_hash is not None and credentials.matches(pepper, secret, row.grace_hash):
        if row.grace_until_us is None or row.grace_until_us <= now:
            return "regenerated"
        return None
    return "unknown"


def _why_unusable(connection: sa.Connection, row: Any, now: int) -> str | None:
    if row.revoked_us is not None:
        return "revoked"
    if row.expires_us is not None and row.expires_us <= now:
        return "expired"
    idle_limit = row.revoke_unused_after_s
    # Gateways are exempt: one that was offline for a week must get back in.
    if row.expires_us is None and idle_limit is not None and row.owner_kind != "gateway":
        last_seen = row.last_used_us or row.created_us
        if now - last_seen > idle_limit * 1_000_000:
            revoke(connection, row.id, now, reason="unused")
            return "revoked-unused"
    return None


def _held_by_owner(row: Any) -> grant_maps.Grants | None:
    """What the token's owner holds now (and, for an OAuth 2 token, its client's
    application too), or None if the owner or the client may not act at all."""
    held = _held_by_principal(row)
    if held is None or row.oauth_client_id is None:
        return held
    if row.client_revoked_us is not None or row.client_disabled_us is not None:
        return None
    if row.client_grants is None:
        return None
    return grant_maps.intersect(held, grant_maps.from_json(row.client_grants))


def _held_by_principal(row: Any) -> grant_maps.Grants | None:
    if row.owner_kind == "user":
        if row.user_role is None or row.user_disabled_us is not None:
            return None
        if row.user_directory_grants is not None:
            # Directory-managed: what the group mapping gave at the last sign-in.
            return grant_maps.from_json(row.user_directory_grants)
        return grant_maps.ROLE_GRANTS.get(row.user_role, {})
    if row.owner_kind == "application":
        if row.application_grants is None or row.application_disabled_us is not None:
            return None
        return grant_maps.from_json(row.application_grants)
    if row.owner_kind == "gateway":
        if row.gateway_decommissioned_us is not None:
            return None
        return grant_maps.GATEWAY_GRANTS
    return None


def regenerate(
    connection: sa.Connection, pepper: bytes, token_id: str, grace_s: int, now: int
) -> IssuedToken:
    """A new secret, same grants; the old one dies now or after ``grace_s`` seconds."""
    row = connection.execute(sa.select(tokens).where(tokens.c.id == token_id)).one()
    kind = credentials.GATEWAY_CREDENTIAL if row.owner_kind == "gateway" else credentials.API_TOKEN
    secret = credentials.generate(kind)
    connection.execute(
        tokens.update()
        .where(tokens.c.id == token_id)
        .values(
            secret_hash=credentials.keyed_hash(pepper, secret),
            secret_prefix=credentials.display_prefix(secret),
            grace_hash=row.secret_hash if grace_s > 0 else None,
            grace_until_us=now + grace_s * 1_000_000 if grace_s > 0 else None,
        )
    )
    return IssuedToken(token_id, secret, credentials.display_prefix(secret), row.expires_us)


def revoke(connection: sa.Connection, token_id: str, now: int, reason: str = "revoked") -> None:
    connection.execute(
        tokens.update()
        .where(tokens.c.id == token_id, tokens.c.revoked_us.is_(None))
        .values(revoked_us=now, revoked_reason=reason, grace_hash=None, grace_until_us=None)
    )


def describe(row: Any, now: int) -> dict[str, Any]:
    """A token as lists show it: everything but the secret."""
    if row.revoked_us is not None:
        status = "revoked"
    elif row.expires_us is not None and row.expires_us <= now:
        status = "expired"
    else:
        status = "active"
    return {
        "id": row.id,
        "name": row.name,
        "prefix": row.secret_prefix,
        "owner": {"kind": row.owner_kind, "id": row.owner_id},
        "grants": row.grants,
        "status": status,
        "created": format_us(row.created_us),
        "last_used": format_us(row.last_used_us),
        "expires": format_us(row.expires_us),
        "revoked": format_us(row.revoked_us),
        "revoked_reason": row.revoked_reason,
    }
