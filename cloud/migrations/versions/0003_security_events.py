"""Security events, aggregated per window.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Id = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "security_events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("gateway_id", Id, nullable=False),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("window_start_us", sa.BigInteger, nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("first_us", sa.BigInteger, nullable=False),
        sa.Column("last_us", sa.BigInteger, nullable=False),
        sa.UniqueConstraint(
            "account_id",
            "gateway_id",
            "source",
            "reason",
            "window_start_us",
            name="uq_security_events_window",
        ),
    )
    op.create_index(
        "ix_security_events_account_time",
        "security_events",
        ["account_id", "window_start_us", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_security_events_account_time", table_name="security_events")
    op.drop_table("security_events")
