"""Data-source types and data sources.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "data_source_types",
        sa.Column("id", Id, primary_key=True),
        sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "data_sources",
        sa.Column("id", Id, primary_key=True),
        sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("gateway_id", Id, sa.ForeignKey("gateways.id"), nullable=False, index=True),
        sa.Column("type_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("binding", sa.JSON, nullable=False),
        sa.Column("sealed_key", sa.LargeBinary, nullable=True),
        sa.Column("public_key", sa.String(64), nullable=True),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("credentials_rotated_us", sa.BigInteger, nullable=True),
        sa.UniqueConstraint("account_id", "name", name="uq_data_sources_account_name"),
    )


def downgrade() -> None:
    op.drop_table("data_sources")
    op.drop_table("data_source_types")
