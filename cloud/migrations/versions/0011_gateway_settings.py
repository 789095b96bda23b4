"""Gateway settings: the remote overlay per gateway, versioned, and what it applied.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Id = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "gateway_settings",
        sa.Column("gateway_id", Id, sa.ForeignKey("gateways.id"), primary_key=True),
        sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=True),
        sa.Column("applied_version", sa.BigInteger, nullable=True),
        sa.Column("refused_version", sa.BigInteger, nullable=True),
        sa.Column("refused_error", sa.String(500), nullable=True),
        sa.Column("reported_us", sa.BigInteger, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("gateway_settings")
