"""OAuth 2 clients, codes and refresh tokens; OAuth 1.0a credentials and nonces.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

Id = sa.String(32)


def upgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("oauth_client_id", Id, nullable=True))
        batch.add_column(sa.Column("family_id", Id, nullable=True))
        batch.create_index("ix_tokens_family_id", ["family_id"])
    op.create_table(
        "oauth_clients",
        sa.Column("id", Id, primary_key=True),
        sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False, index=True),
        sa.Column("application_id", Id, sa.ForeignKey("applications.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("public", sa.Boolean, nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=True),
        sa.Column("secret_prefix", sa.String(16), nullable=True),
        sa.Column("redirect_uris", sa.JSON, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("revoked_us", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "oauth_codes",
        sa.Column("id", Id, primary_key=True),
        sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("client_id", Id, sa.ForeignKey("oauth_clients.id"), nullable=False),
        sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("user_id", Id, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("redirect_uri", sa.String(2000), nullable=False),
        sa.Column("grants", sa.JSON, nullable=False),
        sa.Column("code_challenge", sa.String(128), nullable=True),
        sa.Column("code_challenge_method", sa.String(8), nullable=True),
        sa.Column("family_id", Id, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("expires_us", sa.BigInteger, nullable=False),
        sa.Column("used_us", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "oauth_refresh_tokens",
        sa.Column("id", Id, primary_key=True),
        sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("family_id", Id, nullable=False, index=True),
        sa.Column("client_id", Id, sa.ForeignKey("oauth_clients.id"), nullable=False),
        sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("owner_kind", sa.String(16), nullable=False),
        sa.Column("owner_id", Id, nullable=False),
        sa.Column("grants", sa.JSON, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("expires_us", sa.BigInteger, nullable=False),
        sa.Column("used_us", sa.BigInteger, nullable=True),
        sa.Column("revoked_us", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "oauth1_credentials",
        sa.Column("id", Id, primary_key=True),
        sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False, index=True),
        sa.Column("application_id", Id, sa.ForeignKey("applications.id"), nullable=False),
        sa.Column("token_id", Id, sa.ForeignKey("tokens.id"), nullable=False),
        sa.Column("consumer_key", sa.String(64), nullable=False, unique=True),
        sa.Column("sealed_consumer_secret", sa.LargeBinary, nullable=False),
        sa.Column("token_key", sa.String(64), nullable=False, unique=True),
        sa.Column("sealed_token_secret", sa.LargeBinary, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "oauth1_nonces",
        sa.Column("consumer_key", sa.String(64), primary_key=True),
        sa.Column("token_key", sa.String(64), primary_key=True),
        sa.Column("nonce", sa.String(128), primary_key=True),
        sa.Column("timestamp", sa.BigInteger, primary_key=True),
        sa.Column("expires_us", sa.BigInteger, nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("oauth1_nonces")
    op.drop_table("oauth1_credentials")
    op.drop_table("oauth_refresh_tokens")
    op.drop_table("oauth_codes")
    op.drop_table("oauth_clients")
    with op.batch_alter_table("tokens") as batch:
        batch.drop_index("ix_tokens_family_id")
        batch.drop_column("family_id")
        batch.drop_column("oauth_client_id")
