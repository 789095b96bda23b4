"""Webhooks of an account, and the deliveries queued for them."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from edgeward.cloud.crypto.keys import SealedBox
from edgeward.cloud.errors import InvalidRequest
from edgeward.cloud.identity.principal import new_id
from edgeward.cloud.storage.owned import owned_ids, owned_row
from edgeward.cloud.storage.schema import webhook_deliveries, webhooks
from edgeward.sync.clock import format_us


def create_webhook(
    connection: sa.Connection, box: SealedBox, account_id: str, url: str, now: int
) -> tuple[dict[str, Any], str]:
    """The webhook and its signing secret (hex), which is shown once."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidRequest("expected an http(s) URL with a host", field="url")
    webhook_id = new_id("whk")
    secret = secrets.token_bytes(32)
    connection.execute(
        webhooks.insert().values(
            id=webhook_id,
            account_id=account_id,
            url=url,
            sealed_secret=box.seal(secret, webhook_id),
            enabled=True,
            created_us=now,
        )
    )
    return get_webhook(connection, account_id, webhook_id), secret.hex()


def get_webhook(connection: sa.Connection, account_id: str, webhook_id: str) -> dict[str, Any]:
    row = owned_row(connection, webhooks, account_id, webhook_id, "webhook")
    return {
        "id": row.id,
        "url": row.url,
        "enabled": row.enabled,
        "created": format_us(row.created_us),
    }


def list_webhooks(connection: sa.Connection, account_id: str) -> list[dict[str, Any]]:
    ids = owned_ids(connection, webhooks, account_id)
    return [get_webhook(connection, account_id, webhook_id) for webhook_id in ids]


def delete_webhook(connection: sa.Connection, account_id: str, webhook_id: str) -> None:
    """Disable rather than delete: the delivery log stays readable."""
    get_webhook(connection, account_id, webhook_id)
    connection.execute(webhooks.update().where(webhooks.c.id == webhook_id).values(enabled=False))
    connection.execute(
        webhook_deliveries.update()
        .where(
            webhook_deliveries.c.webhook_id == webhook_id, webhook_deliveries.c.status == "pending"
        )
        .values(status="failed", last_error="webhook deleted")
    )


def enqueue(connection: sa.Connection, account_id: str, payload: dict[str, Any], now: int) -> int:
    """A pending delivery of ``payload`` to each enabled webhook of the account."""
    targets = (
        connection.execute(
            sa.select(webhooks.c.id).where(webhooks.c.account_id == account_id, webhooks.c.enabled)
        )
        .scalars()
        .all()
    )
    if targets:
        connection.execute(
            webhook_deliveries.insert(),
            [
                {
                    "webhook_id": webhook_id,
                    "account_id": account_id,
                    "payload": payload,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_us": now,
                    "created_us": now,
                }
                for webhook_id in targets
            ],
        )
    return len(targets)


def list_deliveries(
    connection: sa.Connection, account_id: str, webhook_id: str, limit: int = 100
) -> list[dict[str, Any]]:
    get_webhook(connection, account_id, webhook_id)
    rows = connection.execute(
        sa.select(webhook_deliveries)
        .where(webhook_deliveries.c.webhook_id == webhook_id)
        .order_by(webhook_deliveries.c.id.desc())
        .limit(limit)
    ).all()
    return [
        {
            "id": row.id,
            "status": row.status,
            "attempts": row.attempts,
            "payload": row.payload,
            "last_status_code": row.last_status_code,
            "last_error": row.last_error,
            "created": format_us(row.created_us),
            "delivered": format_us(row.delivered_us),
            "next_attempt": format_us(row.next_attempt_us) if row.status == "pending" else None,
        }
        for row in rows
    ]
