"""Accounts, principals, tokens, audit events, gateways and readings.

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
Id = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", Id, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("token_max_lifetime_s", sa.BigInteger, nullable=True),
        sa.Column("revoke_unused_after_s", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "users",
        sa.Column("id", Id, primary_key=True),
        sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False, index=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("disabled_us", sa.BigInteger, nullable=True),
        sa.UniqueConstraint("account_id", "email", name="uq_users_account_email"),
    )
    op.create_table(
        "applications",
        sa.Column("id", Id, primary_key=True),
        sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("grants", sa.JSON, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("disabled_us", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "gateways",
        sa.Column("id", Id, primary_key=True),
        sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("decommissioned_us", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "tokens",
        sa.Column("id", Id, primary_key=True),
        sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False, index=True),
        sa.Column("owner_kind", sa.String(16), nullable=False),
        sa.Column("owner_id", Id, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("secret_prefix", sa.String(16), nullable=False),
        sa.Column("grace_hash", sa.String(64), nullable=True, unique=True),
        sa.Column("grace_until_us", sa.BigInteger, nullable=True),
        sa.Column("grants", sa.JSON, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("expires_us", sa.BigInteger, nullable=True),
        sa.Column("last_used_us", sa.BigInteger, nullable=True),
        sa.Column("revoked_us", sa.BigInteger, nullable=True),
        sa.Column("revoked_reason", sa.String(64), nullable=True),
    )
    op.create_index("ix_tokens_owner", "tokens", ["owner_kind", "owner_id"])
    op.create_table(
        "audit_events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("account_id", Id, nullable=True),
        sa.Column("time_us", sa.BigInteger, nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(80), nullable=True),
        sa.Column("target", sa.String(80), nullable=True),
        sa.Column("client", sa.String(64), nullable=True),
        sa.Column("details", sa.JSON, nullable=False),
    )
    op.create_index("ix_audit_account_time", "audit_events", ["account_id", "time_us", "id"])
    op.create_table(
        "readings",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("gateway_id", Id, sa.ForeignKey("gateways.id"), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("time_us", sa.BigInteger, nullable=False),
        sa.Column("values", sa.JSON, nullable=False),
        sa.Column("received_us", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("gateway_id", "seq", name="uq_readings_gateway_seq"),
    )
    op.create_index(
        "ix_readings_account_source_time", "readings", ["account_id", "source", "time_us", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_readings_account_source_time", table_name="readings")
    op.drop_table("readings")
    op.drop_index("ix_audit_account_time", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_index("ix_tokens_owner", table_name="tokens")
    op.drop_table("tokens")
    op.drop_table("gateways")
    op.drop_table("applications")
    op.drop_table("users")
    op.drop_table("accounts")
