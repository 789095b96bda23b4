"""A connection's current access token, refreshed before expiry, once across all workers.

Refresh takes the connection's row lock for the whole exchange with the
vendor -- ``SELECT ... FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on
SQLite (which locks the database for writers) -- and looks again under the
lock: a worker that waited finds the token another worker just stored and
uses it, so however many calls and workers arrive during expiry, the
vendor sees one refresh. Refresh failures the vendor means (``invalid_grant``
and other refusals) mark the connection broken, erase its tokens and queue
a ``connection_broken`` webhook; transient ones (timeouts, 5xx) leave it
as it was for the next call to try again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from edgeward.cloud.connections import oauth2, store
from edgeward.cloud.connections.vendors import client_secret
from edgeward.cloud.egress.guard import EgressPolicy
from edgeward.cloud.errors import BadGateway, Conflict, GatewayTimeout, NotFound
from edgeward.cloud.keychain.keyring import Keyring
from edgeward.cloud.storage.database import Database
from edgeward.cloud.storage.schema import connections, vendors
from edgeward.cloud.webhooks.store import enqueue
from edgeward.sync.clock import now_us

REFRESH_MARGIN_US = 60 * 1_000_000  # refresh this long before the vendor's expiry


class ConnectionBroken(Conflict):
    code = "connection_broken"


@dataclass(frozen=True, slots=True)
class Access:
    connection_id: str
    token: str
    token_type: str
    api_base_url: str | None
    # OAuth 1.0a: (client key, client secret, token, token secret) to sign each call.
    oauth1: tuple[str, str, str, str] | None = None


def current_access(
    database: Database,
    keyring: Keyring,
    policy: EgressPolicy,
    account_id: str,
    connection_id: str,
    timeout: float,
) -> Access:
    with database.engine.connect() as connection:
        row = _row(connection, account_id, connection_id)
        vendor = connection.execute(sa.select(vendors).where(vendors.c.id == row.vendor_id)).one()
    if vendor.protocol == "oauth1":
        tokens = store.unseal(keyring, row)
        credentials = (vendor.client_id, client_secret(keyring, vendor))
        return Access(
            row.id,
            "",
            "OAuth",
            row.api_base_url,
            (*credentials, tokens["oauth_token"], tokens["oauth_token_secret"]),
        )
    if not _due(row):
        return _access(keyring, row)
    return _refreshed(database, keyring, policy, connection_id, timeout)


def _refreshed(
    database: Database, keyring: Keyring, policy: EgressPolicy, connection_id: str, timeout: float
) -> Access:
    """Under the row lock: the token another worker just stored, or a fresh one."""
    with _locked(database, connection_id) as (connection, row):
        if not _due(row):
            return _access(keyring, row)  # another call or worker refreshed it meanwhile
        vendor = connection.execute(sa.select(vendors).where(vendors.c.id == row.vendor_id)).one()
        tokens = store.unseal(keyring, row)
        now = now_us()
        try:
            if not tokens.get("refresh_token"):
                raise oauth2.VendorError(
                    "the token expired and the vendor gave no refresh token", transient=False
                )
            token = oauth2.refresh(
                vendor.settings,
                (vendor.client_id, client_secret(keyring, vendor)),
                tokens["refresh_token"],
                policy,
                timeout,
            )
        except oauth2.VendorError as exc:
            if exc.transient:
                error = GatewayTimeout if "in time" in exc.message else BadGateway
                raise error(f"refreshing the connection failed: {exc.message}") from None
            _break(connection, row, vendor, exc.message, now)
            connection.commit()
            raise ConnectionBroken(
                f"connection {connection_id} is broken ({exc.message}); connect it again"
            ) from None
        values = store.token_values(keyring, row.id, token, now)
        connection.execute(
            connections.update()
            .where(connections.c.id == row.id)
            .values(refreshed_us=now, updated_us=now, last_error=None, **values)
        )
        connection.commit()
        return Access(
            row.id,
            token["access_token"],
            str(token.get("token_type") or "Bearer"),
            row.api_base_url,
        )


def _row(connection: sa.Connection, account_id: str, connection_id: str) -> Any:
    row = connection.execute(
        sa.select(connections).where(
            connections.c.id == connection_id, connections.c.account_id == account_id
        )
    ).first()
    if row is None:
        raise NotFound(f"no connection {connection_id!r}", field="target")
    if row.status == "broken":
        raise ConnectionBroken(f"connection {connection_id} is broken; connect it again")
    if row.status != "connected":
        raise Conflict(f"connection {connection_id} is {row.status}, not connected")
    return row


def _due(row: Any) -> bool:
    return row.expires_us is not None and row.expires_us - REFRESH_MARGIN_US <= now_us()


def _access(keyring: Keyring, row: Any) -> Access:
    tokens = store.unseal(keyring, row)
    return Access(
        row.id, tokens["access_token"], str(tokens.get("token_type") or "Bearer"), row.api_base_url
    )


@contextmanager
def _locked(database: Database, connection_id: str) -> Iterator[tuple[sa.Connection, Any]]:
    with database.engine.connect() as connection:
        if database.dialect == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        row = connection.execute(
            sa.select(connections).where(connections.c.id == connection_id).with_for_update()
        ).first()
        if row is None or row.status != "connected":
            connection.rollback()
            raise ConnectionBroken(f"connection {connection_id} is no longer connected")
        try:
            yield connection, row
        finally:
            if connection.in_transaction():
                connection.rollback()


def _break(connection: sa.Connection, row: Any, vendor: Any, reason: str, now: int) -> None:
    connection.execute(
        connections.update()
        .where(connections.c.id == row.id)
        .values(
            status="broken",
            last_error=reason[:500],
            ciphertext=None,
            wrapped_key=None,
            master_key_id=None,
            updated_us=now,
        )
    )
    payload = {
        "type": "connection_broken",
        "connection_id": row.id,
        "vendor_id": vendor.id,
        "vendor": vendor.name,
        "reason": reason[:500],
    }
    enqueue(connection, row.account_id, payload, now)
