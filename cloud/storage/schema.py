"""The cloud's tables (SQLAlchemy Core). Changes go through an Alembic migration.

Times are stored as integer microseconds since the Unix epoch (UTC): exact,
ordered the same way on SQLite and PostgreSQL, and cheap to page through.
Every row that belongs to a tenant carries its ``account_id``, and every
query of the API filters on it: that column is account isolation.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL wants BIGINT.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Id = sa.String(32)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    # Policy: the longest lifetime a new token may have, and how long a
    # non-expiring token may stay unused before it is revoked (None: no limit).
    sa.Column("token_max_lifetime_s", sa.BigInteger, nullable=True),
    sa.Column("revoke_unused_after_s", sa.BigInteger, nullable=True),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("disabled_us", sa.BigInteger, nullable=True),
    # Directory-managed users (role "directory"): the entry's stable id (entryUUID,
    # RFC 4530), the user name last signed in with, the groups found then, and
    # the grants those groups map to, which is all such a user holds.
    sa.Column("directory_id", sa.String(80), nullable=True),
    sa.Column("directory_username", sa.String(256), nullable=True),
    sa.Column("directory_groups", sa.JSON, nullable=True),
    sa.Column("directory_grants", sa.JSON, nullable=True),
    sa.Column("directory_sign_in_us", sa.BigInteger, nullable=True),
    sa.UniqueConstraint("account_id", "email", name="uq_users_account_email"),
    sa.UniqueConstraint("account_id", "directory_id", name="uq_users_account_directory_id"),
)

applications = sa.Table(
    "applications",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("grants", sa.JSON, nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("disabled_us", sa.BigInteger, nullable=True),
)

gateways = sa.Table(
    "gateways",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("decommissioned_us", sa.BigInteger, nullable=True),
    # Set at enrollment with a claim code: the gateway's Ed25519 identity key and
    # WireGuard key (both public, base64), its site and its tunnel address.
    sa.Column("identity_public_key", sa.String(64), nullable=True),
    sa.Column("wireguard_public_key", sa.String(64), nullable=True),
    sa.Column("site", sa.String(200), nullable=True),
    sa.Column("tunnel_address", sa.String(64), nullable=True),
    # Where its last batch came from (the client address the cloud saw) and when:
    # through the tunnel that is the gateway's tunnel address.
    sa.Column("last_seen_us", sa.BigInteger, nullable=True),
    sa.Column("last_address", sa.String(64), nullable=True),
    sa.UniqueConstraint("tunnel_address", name="uq_gateways_tunnel_address"),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False, index=True),
    # "user", "application" or "gateway", and the id of that principal.
    sa.Column("owner_kind", sa.String(16), nullable=False),
    sa.Column("owner_id", Id, nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("secret_prefix", sa.String(16), nullable=False),
    # The secret a regeneration replaced, alive until grace_until_us.
    sa.Column("grace_hash", sa.String(64), nullable=True, unique=True),
    sa.Column("grace_until_us", sa.BigInteger, nullable=True),
    sa.Column("grants", sa.JSON, nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("expires_us", sa.BigInteger, nullable=True),
    sa.Column("last_used_us", sa.BigInteger, nullable=True),
    sa.Column("revoked_us", sa.BigInteger, nullable=True),
    sa.Column("revoked_reason", sa.String(64), nullable=True),
    # OAuth 2 access tokens: the client they were issued to, and their family
    # (one authorization and every refresh after it), revoked together on reuse.
    sa.Column("oauth_client_id", Id, nullable=True),
    sa.Column("family_id", Id, nullable=True, index=True),
    sa.Index("ix_tokens_owner", "owner_kind", "owner_id"),
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("account_id", Id, nullable=True),
    sa.Column("time_us", sa.BigInteger, nullable=False),
    sa.Column("event", sa.String(64), nullable=False),
    sa.Column("actor", sa.String(80), nullable=True),
    sa.Column("target", sa.String(80), nullable=True),
    sa.Column("client", sa.String(64), nullable=True),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Index("ix_audit_account_time", "account_id", "time_us", "id"),
)

readings = sa.Table(
    "readings",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("gateway_id", Id, sa.ForeignKey("gateways.id"), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("source", sa.String(128), nullable=False),
    sa.Column("time_us", sa.BigInteger, nullable=False),
    sa.Column("values", sa.JSON, nullable=False),
    sa.Column("received_us", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("gateway_id", "seq", name="uq_readings_gateway_seq"),
    sa.Index("ix_readings_account_source_time", "account_id", "source", "time_us", "id"),
    sa.Index("ix_readings_account_time", "account_id", "time_us", "id"),
)

data_source_types = sa.Table(
    "data_source_types",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    # The validated spec (edgeward.sync.source_types): transport, auth mode, decoder, fields.
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
)

data_sources = sa.Table(
    "data_sources",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("gateway_id", Id, sa.ForeignKey("gateways.id"), nullable=False, index=True),
    # Built-in types have no row: their id is "builtin:<name>".
    sa.Column("type_id", sa.String(64), nullable=False),
    # The source's name is what its readings carry in `source`.
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("binding", sa.JSON, nullable=False),
    # hmac and sealed: the device key, AES-GCM-sealed under the cloud master key.
    sa.Column("sealed_key", sa.LargeBinary, nullable=True),
    # ed25519: the device's public key (raw, base64); the cloud never holds the private half.
    sa.Column("public_key", sa.String(64), nullable=True),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("credentials_rotated_us", sa.BigInteger, nullable=True),
    sa.UniqueConstraint("account_id", "name", name="uq_data_sources_account_name"),
)

# The counter of every sealed-for-cloud report the cloud opened, per source: a
# replay is a second insert. A set, not a high-water mark, because the uplink
# sends a backlog's newest batches between its oldest ones, so counters arrive
# out of order; rotating a source's key (old reports no longer open) or
# deleting the source clears its rows.
sealed_report_counters = sa.Table(
    "sealed_report_counters",
    metadata,
    sa.Column("source_id", Id, primary_key=True),
    sa.Column("counter", sa.BigInteger, primary_key=True),
)

security_events = sa.Table(
    "security_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False),
    # Empty string, not NULL, when no gateway is involved: NULLs never collide
    # in a unique constraint, and the aggregation relies on collisions.
    sa.Column("gateway_id", Id, nullable=False),
    sa.Column("source", sa.String(128), nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    # One row per (account, gateway, source, reason) per window: a flood of
    # rogue reports costs one row and a counter, not a row each.
    sa.Column("window_start_us", sa.BigInteger, nullable=False),
    sa.Column("count", sa.BigInteger, nullable=False),
    sa.Column("first_us", sa.BigInteger, nullable=False),
    sa.Column("last_us", sa.BigInteger, nullable=False),
    # "cloud": ingest refused it; "gateway": the gateway's admission did and reported it.
    sa.Column("reported_by", sa.String(16), nullable=False, server_default="cloud"),
    # Why, from the latest refusal a gateway reported for the row (NULL when it
    # named no field, for the cloud's own refusals, and from older gateways):
    # the field at fault, a bounded rendering of its value, the decoder's message.
    sa.Column("field", sa.String(128), nullable=True),
    sa.Column("value", sa.String(64), nullable=True),
    sa.Column("detail", sa.String(256), nullable=True),
    sa.UniqueConstraint(
        "account_id",
        "gateway_id",
        "source",
        "reason",
        "window_start_us",
        "reported_by",
        name="uq_security_events_window",
    ),
    sa.Index("ix_security_events_account_time", "account_id", "window_start_us", "id"),
)

webhooks = sa.Table(
    "webhooks",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("url", sa.String(2000), nullable=False),
    # The signing secret, sealed under the cloud master key; shown once at creation.
    sa.Column("sealed_secret", sa.LargeBinary, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("webhook_id", Id, sa.ForeignKey("webhooks.id"), nullable=False),
    sa.Column("account_id", Id, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    # "pending", "delivered" or "failed" (gave up after the last attempt).
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_us", sa.BigInteger, nullable=False),
    sa.Column("last_status_code", sa.Integer, nullable=True),
    sa.Column("last_error", sa.String(500), nullable=True),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("delivered_us", sa.BigInteger, nullable=True),
    sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_us"),
    sa.Index("ix_webhook_deliveries_webhook", "webhook_id", "id"),
)

claim_codes = sa.Table(
    "claim_codes",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False, index=True),
    # The code is a secret: only its keyed hash is kept, and two symbols to tell codes apart.
    sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("code_prefix", sa.String(16), nullable=False),
    sa.Column("site", sa.String(200), nullable=True),
    sa.Column("created_by", sa.String(80), nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("expires_us", sa.BigInteger, nullable=False),
    sa.Column("used_us", sa.BigInteger, nullable=True),
    sa.Column("gateway_id", Id, nullable=True),
    sa.Column("revoked_us", sa.BigInteger, nullable=True),
    # Set on a re-provisioning code: enrolling with it re-keys this existing gateway.
    sa.Column("for_gateway_id", Id, nullable=True),
)

gateway_events = sa.Table(
    "gateway_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("gateway_id", Id, sa.ForeignKey("gateways.id"), nullable=False),
    # The gateway's own number for the event, and its running total.
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

directories = sa.Table(
    "directories",
    metadata,
    # One enterprise directory (LDAP) per account.
    sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), primary_key=True),
    # The validated settings of edgeward.cloud.directory.settings, without the
    # service account's password, which is sealed apart under the master key.
    sa.Column("settings", sa.JSON, nullable=False),
    sa.Column("sealed_service_password", sa.LargeBinary, nullable=True),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("updated_us", sa.BigInteger, nullable=False),
)

keychain_secrets = sa.Table(
    "keychain_secrets",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False, index=True),
    # Applications reference it as [~name] in a proxied call.
    sa.Column("name", sa.String(64), nullable=False),
    # Destination hosts it may be sent to, and where in a call it may be substituted.
    sa.Column("hosts", sa.JSON, nullable=False),
    sa.Column("positions", sa.JSON, nullable=False),
    # None: the newest active version is current; else this version is, until unpinned.
    sa.Column("pinned_version", sa.Integer, nullable=True),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("updated_us", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("account_id", "name", name="uq_keychain_secrets_account_name"),
)

keychain_versions = sa.Table(
    "keychain_versions",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("secret_id", Id, sa.ForeignKey("keychain_secrets.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    # Envelope encryption: the value under its own data key (AES-256-GCM), the
    # data key wrapped by the keychain master key named by master_key_id.
    # Both are erased when the version is retired.
    sa.Column("ciphertext", sa.LargeBinary, nullable=True),
    sa.Column("wrapped_key", sa.LargeBinary, nullable=True),
    sa.Column("master_key_id", sa.String(32), nullable=True),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("retired_us", sa.BigInteger, nullable=True),
    sa.UniqueConstraint("secret_id", "version", name="uq_keychain_versions_secret_version"),
    sa.Index("ix_keychain_versions_master_key", "master_key_id"),
)

vendors = sa.Table(
    "vendors",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("name", sa.String(64), nullable=False),
    # "oauth2"; the template: endpoints and the vendor's quirks (no secrets).
    sa.Column("protocol", sa.String(16), nullable=False),
    sa.Column("settings", sa.JSON, nullable=False),
    sa.Column("client_id", sa.String(500), nullable=False),
    # The client secret, envelope-encrypted like keychain values.
    sa.Column("ciphertext", sa.LargeBinary, nullable=False),
    sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
    sa.Column("master_key_id", sa.String(32), nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("account_id", "name", name="uq_vendors_account_name"),
)

connections = sa.Table(
    "connections",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("vendor_id", Id, sa.ForeignKey("vendors.id"), nullable=False),
    # "pending" (sent to the vendor), "connected", "broken" (refresh failed for
    # good: reconnect), "failed" (the vendor refused at the callback).
    sa.Column("status", sa.String(16), nullable=False),
    # Keyed hash of the OAuth state while pending; the callback finds the row by it.
    sa.Column("state_hash", sa.String(64), nullable=True, unique=True),
    sa.Column("scopes", sa.JSON, nullable=False),
    # Where proxied calls go: the vendor's API base, or the instance URL it
    # returned at token time (Salesforce).
    sa.Column("api_base_url", sa.String(2000), nullable=True),
    # Tokens (or, while pending, the PKCE verifier), envelope-encrypted.
    sa.Column("ciphertext", sa.LargeBinary, nullable=True),
    sa.Column("wrapped_key", sa.LargeBinary, nullable=True),
    sa.Column("master_key_id", sa.String(32), nullable=True),
    sa.Column("expires_us", sa.BigInteger, nullable=True),
    sa.Column("refreshed_us", sa.BigInteger, nullable=True),
    sa.Column("last_error", sa.String(500), nullable=True),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("updated_us", sa.BigInteger, nullable=False),
)

# One row per gateway with remote settings: the desired overlay and its
# version (a counter per gateway), and what the gateway last said it runs.
gateway_settings = sa.Table(
    "gateway_settings",
    metadata,
    sa.Column("gateway_id", Id, sa.ForeignKey("gateways.id"), primary_key=True),
    sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("settings", sa.JSON, nullable=False),
    sa.Column("updated_us", sa.BigInteger, nullable=False),
    sa.Column("updated_by", sa.String(64), nullable=True),
    sa.Column("applied_version", sa.BigInteger, nullable=True),
    sa.Column("refused_version", sa.BigInteger, nullable=True),
    sa.Column("refused_error", sa.String(500), nullable=True),
    sa.Column("reported_us", sa.BigInteger, nullable=True),
)

# OAuth 2 (RFC 6749): clients registered per account. A client acts within what
# its application holds; a confidential client's secret is kept as a keyed hash.
oauth_clients = sa.Table(
    "oauth_clients",
    metadata,
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

oauth_codes = sa.Table(
    "oauth_codes",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("client_id", Id, sa.ForeignKey("oauth_clients.id"), nullable=False),
    sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("user_id", Id, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("redirect_uri", sa.String(2000), nullable=False),
    sa.Column("grants", sa.JSON, nullable=False),
    sa.Column("code_challenge", sa.String(128), nullable=True),
    sa.Column("code_challenge_method", sa.String(8), nullable=True),
    # The token family the code turns into, so a replayed code can revoke it.
    sa.Column("family_id", Id, nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("expires_us", sa.BigInteger, nullable=False),
    sa.Column("used_us", sa.BigInteger, nullable=True),
)

oauth_refresh_tokens = sa.Table(
    "oauth_refresh_tokens",
    metadata,
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
    # Set when the token is exchanged (rotation); presenting it again is reuse.
    sa.Column("used_us", sa.BigInteger, nullable=True),
    sa.Column("revoked_us", sa.BigInteger, nullable=True),
)

# OAuth 1.0a (RFC 5849): a consumer key and token pair of an application, tied
# to a row of ``tokens`` (grants, expiry, revocation). HMAC needs the shared
# secrets themselves, so they are sealed (AES-GCM), not hashed.
oauth1_credentials = sa.Table(
    "oauth1_credentials",
    metadata,
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

# Nonces seen (RFC 5849 section 3.3), in the database so that every API worker
# refuses a replay another worker already accepted; kept until the timestamp
# window has passed.
oauth1_nonces = sa.Table(
    "oauth1_nonces",
    metadata,
    sa.Column("consumer_key", sa.String(64), primary_key=True),
    sa.Column("token_key", sa.String(64), primary_key=True),
    sa.Column("nonce", sa.String(128), primary_key=True),
    sa.Column("timestamp", sa.BigInteger, primary_key=True),
    sa.Column("expires_us", sa.BigInteger, nullable=False, index=True),
)
