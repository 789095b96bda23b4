"""Gateways of an account, each with a token of its own (a gateway principal).

A gateway's token holds only what a gateway needs (``ingest:POST``); it is
shown once at registration, like every secret, and can be regenerated or
revoked through the tokens API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from edgeward.cloud.identity import grants as grant_maps
from edgeward.cloud.identity import tokens
from edgeward.cloud.identity.principal import new_id
from edgeward.cloud.identity.revocation import revoke_owned
from edgeward.cloud.storage.owned import owned_ids, owned_row
from edgeward.cloud.storage.schema import gateways
from edgeward.sync.clock import format_us


@dataclass(frozen=True, slots=True)
class NewGateway:
    id: str
    name: str
    credential: str  # shown once, never stored
    token_id: str


def add_gateway(
    connection: sa.Connection, pepper: bytes, account_id: str, name: str, now: int
) -> NewGateway:
    gateway_id = new_id("gw")
    connection.execute(
        gateways.insert().values(id=gateway_id, account_id=account_id, name=name, created_us=now)
    )
    return issue_credential(connection, pepper, account_id, gateway_id, name, now)


def issue_credential(
    connection: sa.Connection, pepper: bytes, account_id: str, gateway_id: str, name: str, now: int
) -> NewGateway:
    """A fresh credential for the gateway (at registration, or re-provisioning)."""
    token = tokens.issue(
        connection,
        pepper,
        account_id=account_id,
        owner_kind="gateway",
        owner_id=gateway_id,
        name=f"gateway {name}",
        grants=grant_maps.GATEWAY_GRANTS,
        expires_us=None,
        now=now,
    )
    return NewGateway(gateway_id, name, token.secret, token.id)


def get_gateway(connection: sa.Connection, account_id: str, gateway_id: str) -> dict[str, Any]:
    row = owned_row(connection, gateways, account_id, gateway_id, "gateway")
    return {
        "id": row.id,
        "name": row.name,
        "created": format_us(row.created_us),
        "decommissioned": format_us(row.decommissioned_us),
        "site": row.site,
        "tunnel_address": row.tunnel_address,
        "last_seen": format_us(row.last_seen_us),
        "last_address": row.last_address,
    }


def list_gateways(connection: sa.Connection, account_id: str) -> list[dict[str, Any]]:
    ids = owned_ids(connection, gateways, account_id)
    return [get_gateway(connection, account_id, gateway_id) for gateway_id in ids]


def decommission(
    connection: sa.Connection, account_id: str, gateway_id: str, now: int
) -> str | None:
    """The gateway stops getting in at once; its readings stay.

    Returns its WireGuard key, whose hub peer the caller removes.
    """
    row = owned_row(connection, gateways, account_id, gateway_id, "gateway")
    connection.execute(
        gateways.update().where(gateways.c.id == gateway_id).values(decommissioned_us=now)
    )
    revoke_owned(connection, "gateway", gateway_id, now)
    return None if row.decommissioned_us is not None else row.wireguard_public_key


# last_seen is kept to this precision: a gateway sending many batches a second
# rewrites its row at most once per interval, not once per batch.
SEEN_PRECISION_US = 5_000_000


def record_seen(connection: sa.Connection, gateway_id: str, address: str | None, now: int) -> None:
    """Where the gateway's last batch came from: inside the tunnel, its tunnel address."""
    connection.execute(
        gateways.update()
        .where(
            gateways.c.id == gateway_id,
            sa.or_(
                gateways.c.last_seen_us.is_(None),
                gateways.c.last_seen_us < now - SEEN_PRECISION_US,
                gateways.c.last_address.is_distinct_from(address),
            ),
        )
        .values(last_seen_us=now, last_address=address)
    )
