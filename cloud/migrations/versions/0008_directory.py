"""Enterprise directory (LDAP) settings per account, and directory-managed users.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Id = sa.String(32)
DIRECTORY_COLUMNS = (
    "directory_id",
    "directory_username",
    "directory_groups",
    "directory_grants",
    "directory_sign_in_us",
)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("directory_id", sa.String(80), nullable=True))
        batch.add_column(sa.Column("directory_username", sa.String(256), nullable=True))
        batch.add_column(sa.Column("directory_groups", sa.JSON, nullable=True))
        batch.add_column(sa.Column("directory_grants", sa.JSON, nullable=True))
        batch.add_column(sa.Column("directory_sign_in_us", sa.BigInteger, nullable=True))
        batch.create_unique_constraint(
            "uq_users_account_directory_id", ["account_id", "directory_id"]
        )
    op.create_table(
        "directories",
        sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), primary_key=True),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("sealed_service_password", sa.LargeBinary, nullable=True),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("directories")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_account_directory_id", type_="unique")
        for column in reversed(DIRECTORY_COLUMNS):
            batch.drop_column(column)
