"""Gateways, API tokens and readings.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "gateways",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("credential_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("credential_prefix", sa.String(16), nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("secret_prefix", sa.String(16), nullable=False),
        sa.Column("grants", sa.JSON, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("revoked_us", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "readings",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("gateway_id", sa.String(64), sa.ForeignKey("gateways.id"), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("time_us", sa.BigInteger, nullable=False),
        sa.Column("values", sa.JSON, nullable=False),
        sa.Column("received_us", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("gateway_id", "seq", name="uq_readings_gateway_seq"),
    )
    op.create_index("ix_readings_source_time", "readings", ["source", "time_us", "id"])


def downgrade() -> None:
    op.drop_index("ix_readings_source_time", table_name="readings")
    op.drop_table("readings")
    op.drop_table("api_tokens")
    op.drop_table("gateways")
