"""The audit log: token life cycle, sign-ins and authentication failures.

Secrets never enter it: events name tokens by id and display prefix only.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from edgeward.cloud.storage.schema import audit_events
from edgeward.sync.clock import now_us


def record(
    connection: sa.Connection,
    event: str,
    *,
    account_id: str | None,
    actor: str | None = None,
    target: str | None = None,
    client: str | None = None,
    **details: Any,
) -> None:
    connection.execute(
        audit_events.insert().values(
            account_id=account_id,
            time_us=now_us(),
            event=event,
            actor=actor,
            target=target,
            client=client,
            details=details,
        )
    )
