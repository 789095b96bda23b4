"""Keychain: named secrets and their envelope-encrypted versions; vendors and connections.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Id = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "keychain_secrets",
        sa.Column("id", Id, primary_key=True),
        sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False, index=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("hosts", sa.JSON, nullable=False),
        sa.Column("positions", sa.JSON, nullable=False),
        sa.Column("pinned_version", sa.Integer, nullable=True),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("account_id", "name", name="uq_keychain_secrets_account_name"),
    )
    op.create_table(
        "keychain_versions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("secret_id", Id, sa.ForeignKey("keychain_secrets.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("ciphertext", sa.LargeBinary, nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary, nullable=True),
        sa.Column("master_key_id", sa.String(32), nullable=True),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("retired_us", sa.BigInteger, nullable=True),
        sa.UniqueConstraint("secret_id", "version", name="uq_keychain_versions_secret_version"),
    )
    op.create_index("ix_keychain_versions_master_key", "keychain_versions", ["master_key_id"])
    op.create_table(
        "vendors",
        sa.Column("id", Id, primary_key=True),
        sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False, index=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("protocol", sa.String(16), nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("client_id", sa.String(500), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary, nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
        sa.Column("master_key_id", sa.String(32), nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("account_id", "name", name="uq_vendors_account_name"),
    )
    op.create_table(
        "connections",
        sa.Column("id", Id, primary_key=True),
        sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False, index=True),
        sa.Column("vendor_id", Id, sa.ForeignKey("vendors.id"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("state_hash", sa.String(64), nullable=True, unique=True),
        sa.Column("scopes", sa.JSON, nullable=False),
        sa.Column("api_base_url", sa.String(2000), nullable=True),
        sa.Column("ciphertext", sa.LargeBinary, nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary, nullable=True),
        sa.Column("master_key_id", sa.String(32), nullable=True),
        sa.Column("expires_us", sa.BigInteger, nullable=True),
        sa.Column("refreshed_us", sa.BigInteger, nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("connections")
    op.drop_table("vendors")
    op.drop_index("ix_keychain_versions_master_key", "keychain_versions")
    op.drop_table("keychain_versions")
    op.drop_table("keychain_secrets")
