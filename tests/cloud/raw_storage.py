"""Everything the cloud stored, as raw bytes, for tests that grep it for secrets."""

from __future__ import annotations

import psycopg
import sqlalchemy as sa

from tests.peers.cloud import CloudServer


def raw_storage(cloud: CloudServer) -> bytes:
    """SQLite: the database file and its WAL, byte for byte. PostgreSQL: every row of
    every table as text (bytea shows as hex, so grep for the hex form too)."""
    assert cloud.db_url is not None
    if cloud.db_url.startswith("sqlite"):
        path = cloud.db_url.split("///", 1)[1]
        parts = [path, f"{path}-wal", f"{path}-shm"]
        return b"".join(open(p, "rb").read() for p in parts if _exists(p))
    url = cloud.db_url.replace("postgresql+psycopg://", "postgresql://")
    chunks: list[bytes] = []
    with psycopg.connect(url) as connection:
        tables = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
        for (table,) in tables:
            for (row,) in connection.execute(f'SELECT t::text FROM "{table}" t'):  # noqa: S608
                chunks.append(row.encode())
    return b"\n".join(chunks)


def _exists(path: str) -> bool:
    import os

    return os.path.exists(path)


def holds(raw: bytes, secret: str) -> bool:
    return secret.encode() in raw or secret.encode().hex().encode() in raw


def table_rows(cloud: CloudServer, table: str) -> list[sa.Row[object]]:
    _, database = cloud._open_storage()
    with database.engine.connect() as connection:
        return list(connection.execute(sa.text(f"SELECT * FROM {table}")).all())  # noqa: S608
