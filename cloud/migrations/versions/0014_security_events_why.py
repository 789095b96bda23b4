"""Security events say why: the field at fault, its value (bounded) and the message.

A gateway reports, with each window's count, its latest refusal's field,
value and detail (edgeward.sync.security_events). The columns are nullable:
the cloud's own refusals name no field, and neither do older gateways.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

COLUMNS = (("field", 128), ("value", 64), ("detail", 256))


def upgrade() -> None:
    # batch mode, as in 0010: the same migration runs on SQLite and PostgreSQL.
    with op.batch_alter_table("security_events") as batch:
        for name, length in COLUMNS:
            batch.add_column(sa.Column(name, sa.String(length), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("security_events") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
