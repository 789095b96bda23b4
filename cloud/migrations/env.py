"""Alembic environment: migrations run on the connection the service hands in."""

from __future__ import annotations

from alembic import context

from edgeward.cloud.storage.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through edgeward.cloud.storage.Database.migrate()")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
