"""Security events say who saw the refusal: the cloud's ingest or a gateway's admission.

Gateways report their own refusals with running counts per window, which the
cloud keeps at their largest; the cloud's own refusals for the same gateway,
source, reason and window add up. Keeping them in separate rows (``reported_by``
joins the window's unique key) lets each be merged its own way.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

OLD_KEY = ["account_id", "gateway_id", "source", "reason", "window_start_us"]


def upgrade() -> None:
    # batch mode: SQLite can't alter a constraint in place, so it copies the table.
    with op.batch_alter_table("security_events") as batch:
        batch.add_column(
            sa.Column("reported_by", sa.String(16), nullable=False, server_default="cloud")
        )
        batch.drop_constraint("uq_security_events_window", type_="unique")
        batch.create_unique_constraint("uq_security_events_window", [*OLD_KEY, "reported_by"])


def downgrade() -> None:
    with op.batch_alter_table("security_events") as batch:
        batch.drop_constraint("uq_security_events_window", type_="unique")
        batch.execute(sa.text("DELETE FROM security_events WHERE reported_by <> 'cloud'"))
        batch.create_unique_constraint("uq_security_events_window", OLD_KEY)
        batch.drop_column("reported_by")
