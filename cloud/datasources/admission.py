"""The cloud's own admission of ingested readings, independent of the gateway's.

Whatever a gateway let through, a reading is stored only if its source is a
registered, enabled data source of the gateway's account, tied to that very
gateway. Everything else is discarded and flagged as a security event.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from edgeward.cloud.security_events.store import DISABLED_SOURCE, UNKNOWN_SOURCE, WRONG_GATEWAY
from edgeward.cloud.storage.schema import data_sources

_SOURCES_BY_NAME = sa.select(
    data_sources.c.name, data_sources.c.gateway_id, data_sources.c.enabled
).where(
    data_sources.c.account_id == sa.bindparam("account_id"),
    data_sources.c.name.in_(sa.bindparam("names", expanding=True)),
)


def verdicts(
    connection: sa.Connection, account_id: str, gateway_id: str, names: Iterable[str]
) -> dict[str, str | None]:
    """For each source name, None if admitted, else the reason it is not."""
    wanted = sorted(set(names))
    rows = {
        row.name: row
        for row in connection.execute(_SOURCES_BY_NAME, {"account_id": account_id, "names": wanted})
    }
    result: dict[str, str | None] = {}
    for name in wanted:
        row = rows.get(name)
        if row is None:
            result[name] = UNKNOWN_SOURCE
        elif row.gateway_id != gateway_id:
            result[name] = WRONG_GATEWAY
        elif not row.enabled:
            result[name] = DISABLED_SOURCE
        else:
            result[name] = None
    return result
