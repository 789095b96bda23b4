"""API tokens for cloud applications, granted per API and per HTTP verb.

This is the walking skeleton's token store: a named token with a grant map.
Accounts, users and token life cycle build on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass

import sqlalchemy as sa

from edgeward.cloud.auth import credentials
from edgeward.cloud.storage.schema import api_tokens
from edgeward.sync.clock import now_us

VERBS = frozenset({"GET", "POST", "PUT", "DELETE"})

Grants = Mapping[str, Set[str]]


@dataclass(frozen=True, slots=True)
class NewToken:
    id: int
    name: str
    secret: str  # shown once, never stored
    grants: Grants


def parse_grants(specs: list[str]) -> dict[str, frozenset[str]]:
    """``["readings:GET", "ingest:POST,GET"]`` to ``{"readings": {"GET"}, ...}``."""
    grants: dict[str, set[str]] = {}
    for spec in specs:
        api, separator, verbs = spec.partition(":")
        if not separator or not api:
            raise ValueError(f"grant {spec!r}: expected API:VERB[,VERB] such as readings:GET")
        for verb in verbs.upper().split(","):
            if verb not in VERBS:
                raise ValueError(f"grant {spec!r}: {verb!r} is not one of {sorted(VERBS)}")
            grants.setdefault(api, set()).add(verb)
    return {api: frozenset(verbs) for api, verbs in grants.items()}


def create_token(engine: sa.Engine, pepper: bytes, name: str, grants: Grants) -> NewToken:
    secret = credentials.generate(credentials.API_TOKEN)
    with engine.begin() as connection:
        inserted = connection.execute(
            api_tokens.insert().values(
                name=name,
                secret_hash=credentials.keyed_hash(pepper, secret),
                secret_prefix=credentials.display_prefix(secret),
                grants={api: sorted(verbs) for api, verbs in grants.items()},
                created_us=now_us(),
            )
        ).inserted_primary_key
        assert inserted is not None
        token_id = inserted[0]
    return NewToken(id=int(token_id), name=name, secret=secret, grants=grants)


def grants_of_token(
    connection: sa.Connection, pepper: bytes, secret: str
) -> dict[str, frozenset[str]] | None:
    """The grants of a live token, or None if the secret is unknown or revoked."""
    row = connection.execute(
        sa.select(api_tokens.c.secret_hash, api_tokens.c.grants, api_tokens.c.revoked_us).where(
            api_tokens.c.secret_hash == credentials.keyed_hash(pepper, secret)
        )
    ).first()
    if row is None or row.revoked_us is not None:
        return None
    if not credentials.matches(pepper, secret, row.secret_hash):
        return None
    return {api: frozenset(verbs) for api, verbs in row.grants.items()}
