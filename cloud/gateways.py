"""The gateway registry: registration and credential checks."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from edgeward.cloud.auth import credentials
from edgeward.cloud.storage.schema import gateways
from edgeward.sync.clock import now_us


@dataclass(frozen=True, slots=True)
class NewGateway:
    id: str
    name: str
    credential: str  # shown once, never stored


def add_gateway(engine: sa.Engine, pepper: bytes, name: str) -> NewGateway:
    gateway_id = f"gw-{secrets.token_hex(6)}"
    credential = credentials.generate(credentials.GATEWAY_CREDENTIAL)
    with engine.begin() as connection:
        connection.execute(
            gateways.insert().values(
                id=gateway_id,
                name=name,
                credential_hash=credentials.keyed_hash(pepper, credential),
                credential_prefix=credentials.display_prefix(credential),
                created_us=now_us(),
            )
        )
    return NewGateway(id=gateway_id, name=name, credential=credential)


def authenticate_gateway(connection: sa.Connection, pepper: bytes, credential: str) -> str | None:
    """The id of the gateway holding ``credential``, or None."""
    stored_hash = credentials.keyed_hash(pepper, credential)
    row = connection.execute(
        sa.select(gateways.c.id, gateways.c.credential_hash).where(
            gateways.c.credential_hash == stored_hash
        )
    ).first()
    if row is None or not credentials.matches(pepper, credential, row.credential_hash):
        return None
    return str(row.id)
