"""Gateway events: data dropped, reading stopped, outbox moved aside.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Id = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "gateway_events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("gateway_id", Id, sa.ForeignKey("gateways.id"), nullable=False),
        sa.Column("local_id", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("first_us", sa.BigInteger, nullable=False),
        sa.Column("last_us", sa.BigInteger, nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("first_seq", sa.BigInteger, nullable=True),
        sa.Column("last_seq", sa.BigInteger, nullable=True),
        sa.Column("detail", sa.String(500), nullable=False),
        sa.Column("received_us", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("gateway_id", "local_id", name="uq_gateway_events_local"),
    )


def downgrade() -> None:
    op.drop_table("gateway_events")
