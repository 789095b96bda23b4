"""OAuth 2 clients (RFC 6749 section 2), registered per account.

A client acts for one application of its account and never holds more than
that application holds now. Confidential clients get a secret, shown once and
kept as a keyed hash; public clients (apps that can't keep a secret) get none
and must use PKCE (RFC 7636, S256). Redirect URIs are compared exactly, as
strings (RFC 6749 section 3.1.2.3; RFC 9700 section 4.1.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from authlib.oauth2.rfc6749 import ClientMixin

from edgeward.cloud.auth import credentials
from edgeward.cloud.errors import InvalidRequest
from edgeward.cloud.identity import grants as grant_maps
from edgeward.cloud.identity.principal import new_id
from edgeward.cloud.oauth2 import scopes
from edgeward.cloud.storage.owned import owned_row
from edgeward.cloud.storage.schema import applications, oauth_clients
from edgeward.sync.clock import format_us

CLIENT_SECRET = "ews"  # noqa: S105 - the kind prefix of client secrets, not a secret
CONFIDENTIAL_AUTH = ("client_secret_basic", "client_secret_post")
PUBLIC_GRANT_TYPES = ("authorization_code", "refresh_token")
CONFIDENTIAL_GRANT_TYPES = (*PUBLIC_GRANT_TYPES, "client_credentials")


@dataclass(frozen=True, slots=True)
class Client(ClientMixin):  # type: ignore[misc]
    """authlib's view of a registered client."""

    id: str
    account_id: str
    application_id: str
    name: str
    public: bool
    secret_hash: str | None
    redirect_uris: tuple[str, ...]
    # What the client's application holds now: the ceiling of every token.
    holds: grant_maps.Grants
    pepper: bytes

    def get_client_id(self) -> str:
        return self.id

    def get_default_redirect_uri(self) -> str | None:
        return None  # every authorization request names its redirect URI

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The scope asked for, or None (``invalid_scope``) if the client doesn't hold it."""
        wanted = scopes.parse(scope) if scope else self.holds
        if grant_maps.excess(wanted, self.holds):
            return None
        return scopes.to_scope(wanted)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if self.public or self.secret_hash is None:
            return False
        return credentials.matches(self.pepper, client_secret, self.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.public:
            return method == "none"
        return method in CONFIDENTIAL_AUTH

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        allowed = PUBLIC_GRANT_TYPES if self.public else CONFIDENTIAL_GRANT_TYPES
        return grant_type in allowed


_ACTIVE_CLIENT = (
    sa.select(oauth_clients, applications.c.grants.label("application_grants"))
    .join(applications, applications.c.id == oauth_clients.c.application_id)
    .where(
        oauth_clients.c.id == sa.bindparam("client_id"),
        oauth_clients.c.revoked_us.is_(None),
        applications.c.disabled_us.is_(None),
    )
)


def find(connection: sa.Connection, pepper: bytes, client_id: str) -> Client | None:
    """The active client ``client_id`` (its application active too), or None."""
    row = connection.execute(_ACTIVE_CLIENT, {"client_id": client_id}).first()
    if row is None:
        return None
    return Client(
        id=row.id,
        account_id=row.account_id,
        application_id=row.application_id,
        name=row.name,
        public=row.public,
        secret_hash=row.secret_hash,
        redirect_uris=tuple(row.redirect_uris),
        holds=grant_maps.from_json(row.application_grants),
        pepper=pepper,
    )


def validate_redirect_uris(uris: list[str]) -> list[str]:
    """Absolute URIs without a fragment (RFC 6749 section 3.1.2); https, or http to
    loopback only (RFC 8252 section 7.3), or a private-use scheme of a native app."""
    if not uris:
        raise InvalidRequest("register at least one redirect URI", field="redirect_uris")
    for index, uri in enumerate(uris):
        parts = urlsplit(uri)
        where = f"redirect_uris.{index}"
        if (
            not parts.scheme
            or parts.fragment
            or (parts.scheme in ("http", "https")) != bool(parts.netloc)
        ):
            raise InvalidRequest(f"{uri!r}: expected an absolute URI without fragment", field=where)
        loopback = parts.hostname in ("127.0.0.1", "::1", "localhost")
        if parts.scheme == "http" and not loopback:
            raise InvalidRequest(f"{uri!r}: http is allowed for loopback only", field=where)
    return uris


def register(
    connection: sa.Connection,
    pepper: bytes,
    account_id: str,
    body: dict[str, Any],
    now: int,
) -> tuple[dict[str, Any], str | None]:
    """A new client and its secret (None for a public client), shown once."""
    owned_row(connection, applications, account_id, body["application_id"], "application")
    client_id = new_id("ocl")
    secret = None if body["public"] else credentials.generate(CLIENT_SECRET)
    connection.execute(
        oauth_clients.insert().values(
            id=client_id,
            account_id=account_id,
            application_id=body["application_id"],
            name=body["name"],
            public=body["public"],
            secret_hash=None if secret is None else credentials.keyed_hash(pepper, secret),
            secret_prefix=None if secret is None else credentials.display_prefix(secret),
            redirect_uris=validate_redirect_uris(body["redirect_uris"]),
            created_us=now,
        )
    )
    return describe(owned_row(connection, oauth_clients, account_id, client_id, "client")), secret


def describe(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "application_id": row.application_id,
        "type": "public" if row.public else "confidential",
        "secret_prefix": row.secret_prefix,
        "redirect_uris": row.redirect_uris,
        "grant_types": list(PUBLIC_GRANT_TYPES if row.public else CONFIDENTIAL_GRANT_TYPES),
        "created": format_us(row.created_us),
        "revoked": format_us(row.revoked_us),
    }
