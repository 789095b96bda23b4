"""Accounts (tenants), their users and applications."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from edgeward.cloud.errors import ConfigurationError, Conflict, InvalidRequest
from edgeward.cloud.identity import audit, tokens
from edgeward.cloud.identity import grants as grant_maps
from edgeward.cloud.identity.principal import new_id
from edgeward.cloud.storage.owned import owned_ids, owned_row
from edgeward.cloud.storage.schema import accounts, applications, users
from edgeward.sync.clock import format_us

# The owner's first token lives this long unless the owner makes another.
BOOTSTRAP_TOKEN_LIFETIME_S = 30 * 86_400


@dataclass(frozen=True, slots=True)
class NewAccount:
    account_id: str
    owner_id: str
    token: tokens.IssuedToken


def create_account(
    connection: sa.Connection, pepper: bytes, name: str, owner_email: str, now: int
) -> NewAccount:
    """An account with its owner and the owner's first token (the only way in)."""
    account_id = new_id("acc")
    connection.execute(accounts.insert().values(id=account_id, name=name, created_us=now))
    owner_id = create_user(connection, account_id, owner_email, "owner", now)["id"]
    token = tokens.issue(
        connection,
        pepper,
        account_id=account_id,
        owner_kind="user",
        owner_id=owner_id,
        name="first token",
        grants=grant_maps.ROLE_GRANTS["owner"],
        expires_us=now + BOOTSTRAP_TOKEN_LIFETIME_S * 1_000_000,
        now=now,
    )
    audit.record(connection, "account.created", account_id=account_id, target=account_id)
    audit.record(
        connection,
        "token.created",
        account_id=account_id,
        actor=f"user:{owner_id}",
        target=token.id,
        prefix=token.prefix,
    )
    return NewAccount(account_id, owner_id, token)


def issue_owner_token(
    connection: sa.Connection, pepper: bytes, account_id: str, email: str | None, now: int
) -> tokens.IssuedToken:
    """A fresh owner token, for the server's operator when the owners lost theirs."""
    statement = sa.select(users.c.id, users.c.email).where(
        users.c.account_id == account_id, users.c.role == "owner", users.c.disabled_us.is_(None)
    )
    if email is not None:
        statement = statement.where(users.c.email == email)
    owners = connection.execute(statement.order_by(users.c.created_us)).all()
    if not owners:
        raise ConfigurationError(f"--account/--email: no active owner in account {account_id!r}")
    owner_id = owners[0].id
    token = tokens.issue(
        connection,
        pepper,
        account_id=account_id,
        owner_kind="user",
        owner_id=owner_id,
        name="recovery token",
        grants=grant_maps.ROLE_GRANTS["owner"],
        expires_us=now + BOOTSTRAP_TOKEN_LIFETIME_S * 1_000_000,
        now=now,
    )
    audit.record(
        connection,
        "account.recovery",
        account_id=account_id,
        actor="operator",
        target=token.id,
        prefix=token.prefix,
        owner=owner_id,
    )
    return token


def describe_account(connection: sa.Connection, account_id: str) -> dict[str, Any]:
    row = connection.execute(sa.select(accounts).where(accounts.c.id == account_id)).one()
    return {
        "id": row.id,
        "name": row.name,
        "created": format_us(row.created_us),
        "policy": {
            "token_max_lifetime_s": row.token_max_lifetime_s,
            "revoke_unused_after_s": row.revoke_unused_after_s,
        },
    }


def set_policy(
    connection: sa.Connection,
    account_id: str,
    token_max_lifetime_s: int | None,
    revoke_unused_after_s: int | None,
) -> None:
    connection.execute(
        accounts.update()
        .where(accounts.c.id == account_id)
        .values(
            token_max_lifetime_s=token_max_lifetime_s,
            revoke_unused_after_s=revoke_unused_after_s,
        )
    )


def create_user(
    connection: sa.Connection, account_id: str, email: str, role: str, now: int
) -> dict[str, Any]:
    if role not in grant_maps.ROLES:
        raise InvalidRequest(
            f"unknown role {role!r}; allowed: {', '.join(grant_maps.ROLES)}", field="role"
        )
    taken = connection.execute(
        sa.select(users.c.id).where(users.c.account_id == account_id, users.c.email == email)
    ).first()
    if taken is not None:
        raise Conflict(f"a user with email {email!r} exists in this account", field="email")
    user_id = new_id("usr")
    connection.execute(
        users.insert().values(
            id=user_id, account_id=account_id, email=email, role=role, created_us=now
        )
    )
    return get_user(connection, account_id, user_id)


def get_user(connection: sa.Connection, account_id: str, user_id: str) -> dict[str, Any]:
    row = owned_row(connection, users, account_id, user_id, "user")
    described = {
        "id": row.id,
        "email": row.email,
        "role": row.role,
        "grants": grant_maps.to_json(grant_maps.ROLE_GRANTS.get(row.role, {})),
        "created": format_us(row.created_us),
        "disabled": format_us(row.disabled_us),
    }
    if row.directory_id is not None:
        # Directory-managed: grants come from the group mapping, not from a role.
        described["grants"] = grant_maps.to_json(grant_maps.from_json(row.directory_grants or {}))
        described["directory"] = {
            "username": row.directory_username,
            "groups": row.directory_groups or [],
            "last_sign_in": format_us(row.directory_sign_in_us),
        }
    return described


def list_users(connection: sa.Connection, account_id: str) -> list[dict[str, Any]]:
    ids = owned_ids(connection, users, account_id)
    return [get_user(connection, account_id, user_id) for user_id in ids]


def update_user(
    connection: sa.Connection,
    account_id: str,
    user_id: str,
    role: str | None,
    disabled: bool | None,
    now: int,
) -> dict[str, Any]:
    current = get_user(connection, account_id, user_id)  # 404 for other accounts' users
    values: dict[str, Any] = {}
    if role is not None and "directory" in current:
        raise Conflict(
            "this user is directory-managed: their grants come from the directory's groups",
            field="role",
        )
    if role is not None:
        if role not in grant_maps.ROLES:
            raise InvalidRequest(
                f"unknown role {role!r}; allowed: {', '.join(grant_maps.ROLES)}", field="role"
            )
        values["role"] = role
    if disabled is not None:
        values["disabled_us"] = now if disabled else None
    if values:
        connection.execute(users.update().where(users.c.id == user_id).values(**values))
    return get_user(connection, account_id, user_id)


def require_an_owner(connection: sa.Connection, account_id: str) -> None:
    """Refuse (in the caller's transaction) a change that leaves no active owner."""
    owners = connection.execute(
        sa.select(sa.func.count()).where(
            users.c.account_id == account_id, users.c.role == "owner", users.c.disabled_us.is_(None)
        )
    ).scalar_one()
    if owners == 0:
        raise Conflict("an account keeps at least one active owner")


def create_application(
    connection: sa.Connection, account_id: str, name: str, grants: grant_maps.Grants, now: int
) -> dict[str, Any]:
    application_id = new_id("app")
    connection.execute(
        applications.insert().values(
            id=application_id,
            account_id=account_id,
            name=name,
            grants=grant_maps.to_json(grants),
            created_us=now,
        )
    )
    return get_application(connection, account_id, application_id)


def get_application(
    connection: sa.Connection, account_id: str, application_id: str
) -> dict[str, Any]:
    row = owned_row(connection, applications, account_id, application_id, "application")
    return {
        "id": row.id,
        "name": row.name,
        "grants": row.grants,
        "created": format_us(row.created_us),
        "disabled": format_us(row.disabled_us),
    }


def list_applications(connection: sa.Connection, account_id: str) -> list[dict[str, Any]]:
    ids = owned_ids(connection, applications, account_id)
    return [get_application(connection, account_id, app_id) for app_id in ids]


def update_application(
    connection: sa.Connection,
    account_id: str,
    application_id: str,
    grants: grant_maps.Grants | None,
    disabled: bool | None,
    now: int,
) -> dict[str, Any]:
    get_application(connection, account_id, application_id)
    values: dict[str, Any] = {}
    if grants is not None:
        values["grants"] = grant_maps.to_json(grants)
    if disabled is not None:
        values["disabled_us"] = now if disabled else None
    if values:
        connection.execute(
            applications.update().where(applications.c.id == application_id).values(**values)
        )
    return get_application(connection, account_id, application_id)
