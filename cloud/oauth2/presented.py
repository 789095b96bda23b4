"""A token presented to revocation or introspection: access or refresh, found by hash."""

from __future__ import annotations

from typing import Any

from edgeward.cloud.identity import grants as grant_maps
from edgeward.cloud.oauth2 import families, scopes
from edgeward.cloud.oauth2.bridge import current


class PresentedToken:
    def __init__(self, kind: str, row: Any, client_id: str) -> None:
        self.kind = kind  # "access_token" or "refresh_token" (RFC 7009 section 2.1 hints)
        self.row = row
        self.client_id = client_id

    def check_client(self, client: Any) -> bool:
        return bool(self.client_id == client.id)

    def is_expired(self) -> bool:
        expires = self.row.expires_us
        return expires is not None and expires <= current().now

    def is_revoked(self) -> bool:
        used = self.kind == "refresh_token" and self.row.used_us is not None
        return self.row.revoked_us is not None or used

    def get_scope(self) -> str:
        return scopes.to_scope(grant_maps.from_json(self.row.grants))


def find(pepper: bytes, secret: str, hint: str | None) -> PresentedToken | None:
    """The hint only orders the search (RFC 7009 section 2.1): both kinds are tried."""
    connection = current().connection
    order = ["refresh_token", "access_token"]
    if hint == "access_token":
        order.reverse()
    for kind in order:
        if kind == "access_token":
            row = families.find_access(connection, pepper, secret)
            if row is not None:
                return PresentedToken(kind, row, row.oauth_client_id)
        else:
            row = families.find_refresh(connection, pepper, secret)
            if row is not None:
                return PresentedToken(kind, row, row.client_id)
    return None
