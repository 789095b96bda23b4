"""Authorization server metadata (RFC 8414), at /.well-known/oauth-authorization-server.

Checked by authlib's :class:`AuthorizationServerMetadata` before it is served,
so a field this server gets wrong fails loudly instead of misleading clients.
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from edgeward.cloud.oauth2 import scopes
from edgeward.cloud.oauth2.clients import CONFIDENTIAL_AUTH, CONFIDENTIAL_GRANT_TYPES

AUTHORIZE_PATH = "/oauth2/authorize"
TOKEN_PATH = "/oauth2/token"  # noqa: S105 - a path
REVOKE_PATH = "/oauth2/revoke"
INTROSPECT_PATH = "/oauth2/introspect"


def metadata(issuer: str) -> dict[str, Any]:
    """The metadata of the server whose issuer identifier (its base URL) is ``issuer``."""
    issuer = issuer.rstrip("/")
    document = AuthorizationServerMetadata(
        {
            "issuer": issuer,
            "authorization_endpoint": issuer + AUTHORIZE_PATH,
            "token_endpoint": issuer + TOKEN_PATH,
            "revocation_endpoint": issuer + REVOKE_PATH,
            "introspection_endpoint": issuer + INTROSPECT_PATH,
            "scopes_supported": scopes.every_scope(),
            "response_types_supported": ["code"],
            "grant_types_supported": list(CONFIDENTIAL_GRANT_TYPES),
            "token_endpoint_auth_methods_supported": [*CONFIDENTIAL_AUTH, "none"],
            "revocation_endpoint_auth_methods_supported": [*CONFIDENTIAL_AUTH, "none"],
            "introspection_endpoint_auth_methods_supported": list(CONFIDENTIAL_AUTH),
            "code_challenge_methods_supported": ["S256"],
        }
    )
    document.validate()
    return dict(document)
