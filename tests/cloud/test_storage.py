"""The migrations build exactly the schema the code uses, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from edgeward.cloud.storage.database import Database, normalize_url
from edgeward.cloud.storage.schema import metadata


def test_migrations_match_schema(database_url: str) -> None:
    database = Database(database_url)
    try:
        database.migrate()
        database.migrate()  # every start migrates; the second run is a no-op
        with database.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), metadata)
    finally:
        database.dispose()
    assert differences == []


def test_url_normalization() -> None:
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"
    assert normalize_url("relative.db").startswith("sqlite:////")
