"""Readings across an account in time order: an index on (account, time, id).

``GET /v1/readings`` without a source pages through all of an account's
readings in (time, id) order; the (account, source, time, id) index can't
give that order, so without this one every page sorts the account.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_readings_account_time", "readings", ["account_id", "time_us", "id"])


def downgrade() -> None:
    op.drop_index("ix_readings_account_time", table_name="readings")
