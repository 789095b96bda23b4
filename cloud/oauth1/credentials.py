"""OAuth 1.0a credentials: a consumer key and a token, each with a shared secret.

They stand in front of an ordinary row of ``tokens`` owned by the
application (its grants, expiry and revocation), so a signed request is the
same principal as that token's bearer would be. The token row's own bearer
secret is never shown: these credentials authenticate by signature only.
HMAC needs the shared secrets themselves, so they are sealed (AES-GCM under
the master key, bound to the row), not hashed; shown once, at issue.
"""

from __future__ import annotations

import secrets
from typing import Any

import sqlalchemy as sa

from edgeward.cloud.auth import credentials
from edgeward.cloud.crypto.keys import SealedBox
from edgeward.cloud.identity import grants as grant_maps
from edgeward.cloud.identity import tokens
from edgeward.cloud.identity.principal import new_id
from edgeward.cloud.storage.schema import oauth1_credentials
from edgeward.cloud.storage.schema import tokens as token_table
from edgeward.sync.clock import format_us

SHARED_SECRET = "ewo"  # noqa: S105 - the kind prefix of OAuth 1 shared secrets


def issue(
    connection: sa.Connection,
    pepper: bytes,
    box: SealedBox,
    *,
    account_id: str,
    application_id: str,
    name: str,
    grants: grant_maps.Grants,
    expires_us: int | None,
    now: int,
) -> dict[str, Any]:
    token = tokens.issue(
        connection,
        pepper,
        account_id=account_id,
        owner_kind="application",
        owner_id=application_id,
        name=f"oauth1: {name}",
        grants=grants,
        expires_us=expires_us,
        now=now,
    )
    credential_id = new_id("oa1")
    consumer_secret = credentials.generate(SHARED_SECRET)
    token_secret = credentials.generate(SHARED_SECRET)
    consumer_key = f"ck-{secrets.token_hex(12)}"
    token_key = f"tk-{secrets.token_hex(12)}"
    connection.execute(
        oauth1_credentials.insert().values(
            id=credential_id,
            account_id=account_id,
            application_id=application_id,
            token_id=token.id,
            consumer_key=consumer_key,
            sealed_consumer_secret=box.seal(
                consumer_secret.encode(), f"oauth1:{credential_id}:consumer"
            ),
            token_key=token_key,
            sealed_token_secret=box.seal(token_secret.encode(), f"oauth1:{credential_id}:token"),
            created_us=now,
        )
    )
    return {
        "id": credential_id,
        "token_id": token.id,
        "application_id": application_id,
        "consumer_key": consumer_key,
        "consumer_secret": consumer_secret,
        "token": token_key,
        "token_secret": token_secret,
        "grants": grant_maps.to_json(grants),
        "expires": format_us(expires_us),
    }


LISTED = sa.select(
    oauth1_credentials.c.id,
    oauth1_credentials.c.application_id,
    oauth1_credentials.c.token_id,
    oauth1_credentials.c.consumer_key,
    oauth1_credentials.c.token_key,
    oauth1_credentials.c.created_us,
    token_table.c.grants,
    token_table.c.expires_us,
    token_table.c.revoked_us,
).join(token_table, token_table.c.id == oauth1_credentials.c.token_id)


def describe(row: Any) -> dict[str, Any]:
    """Everything but the secrets."""
    return {
        "id": row.id,
        "application_id": row.application_id,
        "token_id": row.token_id,
        "consumer_key": row.consumer_key,
        "token": row.token_key,
        "grants": row.grants,
        "created": format_us(row.created_us),
        "expires": format_us(row.expires_us),
        "revoked": format_us(row.revoked_us),
    }
