"""Token revocation (RFC 7009).

A client revokes its own tokens. Revoking a refresh token revokes its whole
family (section 2.1: "SHOULD also invalidate all access tokens based on the
same authorization grant"); revoking an access token revokes that token. An
unknown token answers 200 as well (section 2.2), so the answer is no oracle.
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint

from edgeward.cloud.identity import audit, tokens
from edgeward.cloud.oauth2 import families, presented
from edgeward.cloud.oauth2.bridge import current


class RevocationEndpoint(_RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]  # noqa: RUF012

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        return presented.find(self.server.pepper, token_string, token_type_hint)

    def revoke_token(self, token: presented.PresentedToken, request: Any) -> None:
        call = current()
        if token.kind == "refresh_token":
            families.revoke_family(call.connection, token.row.family_id, call.now, "revoked")
            target = token.row.family_id
        else:
            tokens.revoke(call.connection, token.row.id, call.now)
            target = token.row.id
        audit.record(
            call.connection,
            "oauth2.token.revoked",
            account_id=token.row.account_id,
            actor=f"client:{token.client_id}",
            target=target,
            client=call.client,
            kind=token.kind,
        )
