"""Claim codes, and what enrollment records on a gateway.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.String(32)


def upgrade() -> None:
    with op.batch_alter_table("gateways") as batch:
        batch.add_column(sa.Column("identity_public_key", sa.String(64), nullable=True))
        batch.add_column(sa.Column("wireguard_public_key", sa.String(64), nullable=True))
        batch.add_column(sa.Column("site", sa.String(200), nullable=True))
        batch.add_column(sa.Column("tunnel_address", sa.String(64), nullable=True))
        batch.create_unique_constraint("uq_gateways_tunnel_address", ["tunnel_address"])
    op.create_table(
        "claim_codes",
        sa.Column("id", Id, primary_key=True),
        sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False, index=True),
        sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("code_prefix", sa.String(16), nullable=False),
        sa.Column("site", sa.String(200), nullable=True),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("expires_us", sa.BigInteger, nullable=False),
        sa.Column("used_us", sa.BigInteger, nullable=True),
        sa.Column("gateway_id", Id, nullable=True),
        sa.Column("revoked_us", sa.BigInteger, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("claim_codes")
    with op.batch_alter_table("gateways") as batch:
        batch.drop_constraint("uq_gateways_tunnel_address", type_="unique")
        for column in ("tunnel_address", "site", "wireguard_public_key", "identity_public_key"):
            batch.drop_column(column)
