"""Token introspection (RFC 7662).

Any authenticated confidential client of the token's account may ask (the
resource servers of an account are its clients); a token of another account
answers ``{"active": false}`` exactly like an unknown one (section 2.2).
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _IntrospectionEndpoint

from edgeward.cloud.oauth2 import presented


class IntrospectionEndpoint(_IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]  # noqa: RUF012

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        return presented.find(self.server.pepper, token_string, token_type_hint)

    def check_permission(self, token: presented.PresentedToken, client: Any, request: Any) -> bool:
        return bool(token.row.account_id == client.account_id)

    def introspect_token(self, token: presented.PresentedToken) -> dict[str, Any]:
        row = token.row
        answer: dict[str, Any] = {
            "active": True,
            "scope": token.get_scope(),
            "client_id": token.client_id,
            "token_type": "Bearer" if token.kind == "access_token" else "refresh_token",
            "sub": f"{row.owner_kind}:{row.owner_id}",
            "iat": row.created_us // 1_000_000,
        }
        if row.expires_us is not None:
            answer["exp"] = row.expires_us // 1_000_000
        return answer
