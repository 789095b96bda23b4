"""Delivering queued webhook calls: signed, retried with backoff, logged.

A background task of each API worker polls for due deliveries. A worker
claims a delivery by moving its next attempt into the future with a
conditional UPDATE, so two workers never send the same attempt. Failures
back off exponentially with jitter; after ``MAX_ATTEMPTS`` the delivery is
marked failed. Every outcome is written to the delivery log.

Destinations are resolved and pinned before each attempt by the cloud's one
SSRF guard (:mod:`edgeward.cloud.egress.guard`): loopback, private and link-local
addresses are refused unless the deployment allows private destinations
(tests, on-premises receivers).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa

from edgeward.cloud.crypto.keys import SealedBox
from edgeward.cloud.egress.guard import EgressPolicy, pinned
from edgeward.cloud.errors import ConfigurationError
from edgeward.cloud.storage.database import Database
from edgeward.cloud.storage.schema import webhook_deliveries, webhooks
from edgeward.cloud.webhooks.signing import HEADER, sign
from edgeward.sync.clock import now_us

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
LEASE_US = 60 * 1_000_000
POLL_SECONDS = 0.25
BATCH = 20
TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Due:
    id: int
    webhook_id: str
    url: str
    secret: bytes
    payload: dict[str, Any]
    attempts: int


class WebhookDeliverer:
    def __init__(self, database: Database, box: SealedBox, *, allow_private: bool) -> None:
        self.database = database
        self.box = box
        self.policy = EgressPolicy(allow_private=allow_private)

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
            while True:
                try:
                    due = await asyncio.to_thread(self._claim)
                    for delivery in due:
                        await self._attempt(client, delivery)
                except Exception:  # a bad row or a database hiccup must not end deliveries
                    log.exception("webhook delivery round failed")
                await asyncio.sleep(POLL_SECONDS)

    def _claim(self) -> list[Due]:
        now = now_us()
        claimed: list[Due] = []
        with self.database.engine.begin() as connection:
            rows = connection.execute(
                sa.select(webhook_deliveries, webhooks.c.url, webhooks.c.sealed_secret)
                .join(webhooks, webhooks.c.id == webhook_deliveries.c.webhook_id)
                .where(
                    webhook_deliveries.c.status == "pending",
                    webhook_deliveries.c.next_attempt_us <= now,
                )
                .order_by(webhook_deliveries.c.next_attempt_us)
                .limit(BATCH)
            ).all()
            for row in rows:
                taken = connection.execute(
                    webhook_deliveries.update()
                    .where(
                        webhook_deliveries.c.id == row.id,
                        webhook_deliveries.c.next_attempt_us == row.next_attempt_us,
                    )
                    .values(next_attempt_us=now + LEASE_US)
                ).rowcount
                if taken != 1:
                    continue
                try:
                    secret = self.box.open(row.sealed_secret, row.webhook_id)
                except ConfigurationError as exc:
                    # One unreadable row must not stop every account's deliveries.
                    connection.execute(
                        webhook_deliveries.update()
                        .where(webhook_deliveries.c.id == row.id)
                        .values(status="failed", last_error=str(exc)[:500])
                    )
                    continue
                claimed.append(
                    Due(row.id, row.webhook_id, row.url, secret, row.payload, row.attempts)
                )
        return claimed

    async def _attempt(self, client: httpx.AsyncClient, delivery: Due) -> None:
        body = json.dumps(delivery.payload, sort_keys=True, separators=(",", ":")).encode()
        timestamp = now_us() // 1_000_000
        headers = {
            "Content-Type": "application/json",
            HEADER: sign(delivery.secret, timestamp, body),
            "Edgeward-Delivery": str(delivery.id),
        }
        status: int | None = None
        error: str | None = None
        try:
            # The whole attempt is bounded: a receiver dripping its answer a byte at
            # a time must not hold this worker's deliveries.
            async with asyncio.timeout(TIMEOUT_SECONDS):
                url, extensions = await pinned(delivery.url, headers, self.policy)
                async with client.stream(
                    "POST", url, content=body, headers=headers, extensions=extensions
                ) as response:
                    status = response.status_code  # the body is never read
            if not 200 <= status < 300:
                error = f"answered {status}"
        except TimeoutError:
            error = f"no answer within {TIMEOUT_SECONDS}s"
        except Exception as exc:  # every failure is logged and retried, never raised
            error = f"{exc.__class__.__name__}: {exc}"
        await asyncio.to_thread(self._record, delivery, status, error)

    def _record(self, delivery: Due, status: int | None, error: str | None) -> None:
        now = now_us()
        attempts = delivery.attempts + 1
        values: dict[str, Any] = {
            "attempts": attempts,
            "last_status_code": status,
            "last_error": error[:500] if error else None,
        }
        if error is None:
            values.update(status="delivered", delivered_us=now)
        elif attempts >= MAX_ATTEMPTS:
            values.update(status="failed")
        else:
            backoff_s = min(2**attempts, 3600) * random.uniform(0.5, 1.0)  # noqa: S311 - jitter
            values.update(next_attempt_us=now + int(backoff_s * 1_000_000))
        with self.database.engine.begin() as connection:
            connection.execute(
                webhook_deliveries.update()
                .where(webhook_deliveries.c.id == delivery.id)
                .values(**values)
            )
        if error is not None:
            log.warning(
                "webhook %s delivery %d attempt %d failed: %s",
                delivery.webhook_id,
                delivery.id,
                attempts,
                error,
            )
