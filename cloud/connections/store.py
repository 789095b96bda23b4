"""Connections of an account: start, callback, what is stored, what is shown.

Start makes a pending row holding a keyed hash of the OAuth ``state`` (the
callback finds the row by it; an unknown or reused state is refused) and,
sealed, the PKCE verifier and redirect URI. The callback exchanges the code
outside any database transaction, then completes the row only if it is
still pending with that state, so a replayed or raced callback stores
nothing. Tokens are envelope-encrypted like keychain values and never shown.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from edgeward.cloud.errors import BadRequest, InvalidRequest
from edgeward.cloud.identity.principal import new_id
from edgeward.cloud.keychain.keyring import Keyring, Sealed
from edgeward.cloud.keychain.rotation import SealedTable
from edgeward.cloud.storage.owned import owned_ids, owned_row
from edgeward.cloud.storage.schema import connections, vendors
from edgeward.sync.clock import format_us

PENDING_FOR_US = 15 * 60 * 1_000_000  # how long a user has to come back from the vendor
MAX_SCOPES = 50


@dataclass(frozen=True, slots=True)
class Pending:
    connection_id: str
    account_id: str
    vendor: Any
    secrets: dict[str, Any]


def context(connection_id: str) -> str:
    return f"connection:{connection_id}"


# Tokens and PKCE verifiers, for the master-key rotation.
SEALED = SealedTable(connections, lambda row: context(row.id))


def state_hash(pepper: bytes, state: str) -> str:
    return hmac.new(pepper, b"oauth-state:" + state.encode(), hashlib.sha256).hexdigest()


def seal(keyring: Keyring, connection_id: str, document: dict[str, Any]) -> dict[str, Any]:
    sealed = keyring.seal(json.dumps(document).encode(), context(connection_id))
    return {
        "ciphertext": sealed.ciphertext,
        "wrapped_key": sealed.wrapped_key,
        "master_key_id": sealed.master_key_id,
    }


def unseal(keyring: Keyring, row: Any) -> dict[str, Any]:
    sealed = Sealed(row.ciphertext, row.wrapped_key, row.master_key_id)
    document: dict[str, Any] = json.loads(keyring.open(sealed, context(row.id)))
    return document


def start(
    connection: sa.Connection,
    keyring: Keyring,
    pepper: bytes,
    account_id: str,
    vendor_id: str,
    scopes: list[str],
    redirect_uri: str,
    now: int,
) -> tuple[str, str, Any, str | None]:
    """A pending connection: (its id, the state, the vendor row, the PKCE verifier)."""
    vendor = owned_row(connection, vendors, account_id, vendor_id, "vendor")
    if len(scopes) > MAX_SCOPES or any(not s or " " in s or "," in s for s in scopes):
        raise InvalidRequest("expected up to 50 scopes without spaces or commas", field="scopes")
    connection_id = new_id("con")
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64) if vendor.settings.get("pkce") else None
    connection.execute(
        connections.insert().values(
            id=connection_id,
            account_id=account_id,
            vendor_id=vendor.id,
            status="pending",
            state_hash=state_hash(pepper, state),
            scopes=scopes,
            created_us=now,
            updated_us=now,
            **seal(
                keyring, connection_id, {"code_verifier": verifier, "redirect_uri": redirect_uri}
            ),
        )
    )
    return connection_id, state, vendor, verifier


def set_pending(
    connection: sa.Connection, keyring: Keyring, connection_id: str, document: dict[str, Any]
) -> None:
    """What the callback will need (OAuth 1.0a: the temporary credentials), sealed."""
    connection.execute(
        connections.update()
        .where(connections.c.id == connection_id, connections.c.status == "pending")
        .values(**seal(keyring, connection_id, document))
    )


def pending(
    connection: sa.Connection, keyring: Keyring, pepper: bytes, state: str, now: int
) -> Pending:
    row = connection.execute(
        sa.select(connections).where(connections.c.state_hash == state_hash(pepper, state))
    ).first()
    if row is None or row.status != "pending" or now - row.created_us > PENDING_FOR_US:
        raise BadRequest(
            "state does not match a pending connection (unknown, used or expired); start again",
            field="state",
        )
    vendor = connection.execute(sa.select(vendors).where(vendors.c.id == row.vendor_id)).one()
    return Pending(row.id, row.account_id, vendor, unseal(keyring, row))


def complete(
    connection: sa.Connection,
    keyring: Keyring,
    pepper: bytes,
    state: str,
    item: Pending,
    token: dict[str, Any],
    api_base_url: str | None,
    now: int,
) -> bool:
    """Store the tokens if the row is still pending with this state; False if not."""
    return bool(
        connection.execute(
            connections.update()
            .where(
                connections.c.id == item.connection_id,
                connections.c.status == "pending",
                connections.c.state_hash == state_hash(pepper, state),
            )
            .values(
                status="connected",
                state_hash=None,
                api_base_url=api_base_url,
                updated_us=now,
                refreshed_us=now,
                last_error=None,
                **token_values(keyring, item.connection_id, token, now),
            )
        ).rowcount
    )


def token_values(
    keyring: Keyring, connection_id: str, token: dict[str, Any], now: int
) -> dict[str, Any]:
    names = ("access_token", "refresh_token", "token_type", "oauth_token", "oauth_token_secret")
    kept = {k: token[k] for k in names if k in token}
    expires_in = token.get("expires_in")
    expires_us = None
    if isinstance(expires_in, int | float | str) and str(expires_in).isdigit():
        expires_us = now + int(expires_in) * 1_000_000
    return {**seal(keyring, connection_id, kept), "expires_us": expires_us}


def fail(connection: sa.Connection, connection_id: str, reason: str, now: int) -> None:
    connection.execute(
        connections.update()
        .where(connections.c.id == connection_id, connections.c.status == "pending")
        .values(
            status="failed",
            state_hash=None,
            last_error=reason[:500],
            ciphertext=None,
            wrapped_key=None,
            master_key_id=None,
            updated_us=now,
        )
    )


def describe(connection: sa.Connection, account_id: str, connection_id: str) -> dict[str, Any]:
    row = owned_row(connection, connections, account_id, connection_id, "connection")
    return {
        "id": row.id,
        "vendor_id": row.vendor_id,
        "status": row.status,
        "scopes": row.scopes,
        "api_base_url": row.api_base_url,
        "expires": format_us(row.expires_us),
        "refreshed": format_us(row.refreshed_us),
        "last_error": row.last_error,
        "created": format_us(row.created_us),
        "updated": format_us(row.updated_us),
    }


def list_connections(connection: sa.Connection, account_id: str) -> list[dict[str, Any]]:
    ids = owned_ids(connection, connections, account_id)
    return [describe(connection, account_id, connection_id) for connection_id in ids]


def delete(connection: sa.Connection, account_id: str, connection_id: str) -> None:
    owned_row(connection, connections, account_id, connection_id, "connection")
    connection.execute(connections.delete().where(connections.c.id == connection_id))
