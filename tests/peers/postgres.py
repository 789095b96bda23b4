"""A fresh PostgreSQL database per test run on the server at 127.0.0.1:5432, dropped after."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

from tests.peers import missing_peer

ADMIN_URL = os.environ.get(
    "EDGEWARD_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def fresh_database() -> Iterator[str]:
    """Yield the URL of a new empty database; drop it afterwards."""
    name = f"edgeward_test_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        missing_peer(
            f"PostgreSQL at {ADMIN_URL} ({exc})",
            "apt-get install postgresql, or set EDGEWARD_TEST_POSTGRES",
        )
        raise
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        finally:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
