"""The cloud's tables (SQLAlchemy Core). Changes go through an Alembic migration.

Times are stored as integer microseconds since the Unix epoch (UTC): exact,
ordered the same way on SQLite and PostgreSQL, and cheap to page through.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL wants BIGINT.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

gateways = sa.Table(
    "gateways",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("credential_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("credential_prefix", sa.String(16), nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("secret_prefix", sa.String(16), nullable=False),
    # {"readings": ["GET"], ...}: API name to the HTTP verbs it grants.
    sa.Column("grants", sa.JSON, nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("revoked_us", sa.BigInteger, nullable=True),
)

readings = sa.Table(
    "readings",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("gateway_id", sa.String(64), sa.ForeignKey("gateways.id"), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("source", sa.String(128), nullable=False),
    sa.Column("time_us", sa.BigInteger, nullable=False),
    sa.Column("values", sa.JSON, nullable=False),
    sa.Column("received_us", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("gateway_id", "seq", name="uq_readings_gateway_seq"),
    sa.Index("ix_readings_source_time", "source", "time_us", "id"),
)
