"""Engines for SQLite and PostgreSQL, and migrations applied at start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from edgeward.cloud.errors import ConfigurationError

MIGRATIONS = "edgeward.cloud:migrations"


def normalize_url(url: str) -> str:
    """Accept the URLs operators write and pick the drivers we ship.

    ``postgresql://`` would make SQLAlchemy look for psycopg2; we ship psycopg 3.
    A bare path means a SQLite file.
    """
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if "://" not in url:
        return f"sqlite:///{Path(url).resolve()}"
    return url


class Database:
    """One engine for the service's lifetime."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        try:
            sa_url = sa.make_url(self.url)
        except sa.exc.ArgumentError as exc:
            raise ConfigurationError(f"--db: not a database URL: {url!r}") from exc
        self.dialect = sa_url.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise ConfigurationError(
                f"--db: unsupported database {self.dialect!r}; expected sqlite or postgresql"
            )
        options: dict[str, Any] = {}
        if self.dialect == "sqlite":
            # FastAPI runs sync routes in a thread pool; SQLite's own locking suffices.
            options["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            options.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine = sa.create_engine(self.url, **options)
        if self.dialect == "sqlite":
            sa.event.listen(self.engine, "connect", _configure_sqlite)

    def migrate(self) -> None:
        """Bring the schema to the newest migration; safe on every start."""
        config = Config()
        config.set_main_option("script_location", MIGRATIONS)
        try:
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except sa.exc.OperationalError as exc:
            raise ConfigurationError(f"--db: cannot open {self.engine.url!r}: {exc.orig}") from exc

    def dispose(self) -> None:
        self.engine.dispose()


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
