"""Sealed-for-cloud reports: the counters the cloud has accepted, per data source.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sealed_report_counters",
        sa.Column("source_id", sa.String(32), primary_key=True),
        sa.Column("counter", sa.BigInteger, primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("sealed_report_counters")
