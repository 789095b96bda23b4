"""Provisioning life cycle: where a gateway was last seen from, and claim codes that
re-provision an existing gateway.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("gateways") as batch:
        batch.add_column(sa.Column("last_seen_us", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("last_address", sa.String(64), nullable=True))
    with op.batch_alter_table("claim_codes") as batch:
        batch.add_column(sa.Column("for_gateway_id", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("claim_codes") as batch:
        batch.drop_column("for_gateway_id")
    with op.batch_alter_table("gateways") as batch:
        batch.drop_column("last_address")
        batch.drop_column("last_seen_us")
