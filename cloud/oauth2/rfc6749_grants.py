"""The grants of RFC 6749 this server offers, over authlib's.

- authorization code (section 4.1), with PKCE (:mod:`.rfc7636`); a code lives
  60 seconds and is used once: it is claimed by one conditional UPDATE, and a
  code presented again revokes every token issued from it (section 4.1.2);
- client credentials (section 4.4), confidential clients only, tokens owned by
  the client's application; no refresh token (section 4.4.3);
- refresh (section 6), rotated with reuse detection (:mod:`.families`).

Scopes never exceed what the client's application holds (checked by the
client) nor what the consenting user's token grants (checked here at consent).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidScopeError

from edgeward.cloud.auth import credentials
from edgeward.cloud.identity import audit
from edgeward.cloud.identity import grants as grant_maps
from edgeward.cloud.identity.principal import new_id
from edgeward.cloud.oauth2 import families, scopes
from edgeward.cloud.oauth2.bridge import current
from edgeward.cloud.storage.schema import oauth_codes, users

AUTHORIZATION_CODE = "ewc"
CODE_LIFETIME_S = 60
ANY_CLIENT_AUTH = ["client_secret_basic", "client_secret_post", "none"]


class StoredCode:
    """An authorization code's row, as authlib's AuthorizationCodeMixin."""

    def __init__(self, row: Any) -> None:
        self.row = row
        self.family_id: str = row.family_id
        self.code_challenge: str | None = row.code_challenge
        self.code_challenge_method: str | None = row.code_challenge_method

    def get_redirect_uri(self) -> str:
        return str(self.row.redirect_uri)

    def get_scope(self) -> str:
        return scopes.to_scope(grant_maps.from_json(self.row.grants))


class StoredRefresh:
    """A refresh token's row, as authlib's TokenMixin."""

    def __init__(self, row: Any) -> None:
        self.row = row
        self.family_id: str = row.family_id

    def check_client(self, client: Any) -> bool:
        return bool(self.row.client_id == client.id)

    def get_scope(self) -> str:
        return scopes.to_scope(grant_maps.from_json(self.row.grants))


def active_user(connection: sa.Connection, user_id: str) -> families.Owner | None:
    row = connection.execute(
        sa.select(users).where(users.c.id == user_id, users.c.disabled_us.is_(None))
    ).first()
    if row is None:
        return None
    return families.Owner("user", row.id, row.account_id, grant_maps.ROLE_GRANTS[row.role])


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ANY_CLIENT_AUTH

    def create_authorization_response(self, redirect_uri: str, grant_user: Any) -> Any:
        if grant_user is not None:
            beyond = grant_maps.excess(scopes.parse(self.request.scope), grant_user.grants)
            if beyond:
                raise InvalidScopeError(
                    description=f"you do not hold {' '.join(beyond)}", redirect_uri=redirect_uri
                )
        return super().create_authorization_response(redirect_uri, grant_user)

    def generate_authorization_code(self) -> str:
        return credentials.generate(AUTHORIZATION_CODE)

    def save_authorization_code(self, code: str, request: Any) -> None:
        call = current()
        data = request.payload.data
        family_id = new_id("fam")
        call.connection.execute(
            oauth_codes.insert().values(
                id=new_id("ocd"),
                code_hash=credentials.keyed_hash(self.server.pepper, code),
                client_id=request.client.id,
                account_id=request.client.account_id,
                user_id=request.user.id,
                redirect_uri=request.payload.redirect_uri,
                grants=grant_maps.to_json(scopes.parse(request.scope)),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                family_id=family_id,
                created_us=call.now,
                expires_us=call.now + CODE_LIFETIME_S * 1_000_000,
            )
        )
        audit.record(
            call.connection,
            "oauth2.consent.granted",
            account_id=request.client.account_id,
            actor=request.user.reference,
            target=request.client.id,
            client=call.client,
            scope=request.scope,
            family=family_id,
        )

    def query_authorization_code(self, code: str, client: Any) -> StoredCode | None:
        call = current()
        if credentials.kind_of(code) != AUTHORIZATION_CODE:
            return None
        hashed = credentials.keyed_hash(self.server.pepper, code)
        mine = sa.and_(oauth_codes.c.code_hash == hashed, oauth_codes.c.client_id == client.id)
        claimed = call.connection.execute(
            oauth_codes.update()
            .where(mine, oauth_codes.c.used_us.is_(None), oauth_codes.c.expires_us > call.now)
            .values(used_us=call.now)
        )
        row = call.connection.execute(sa.select(oauth_codes).where(mine)).first()
        if claimed.rowcount == 1:
            return StoredCode(row)
        if row is not None and row.used_us is not None:
            revoked = families.revoke_family(
                call.connection, row.family_id, call.now, "code-reused"
            )
            audit.record(
                call.connection,
                "oauth2.code.reused",
                account_id=row.account_id,
                actor=f"client:{client.id}",
                target=row.family_id,
                client=call.client,
                revoked_tokens=revoked,
            )
        return None

    def delete_authorization_code(self, authorization_code: StoredCode) -> None:
        """Nothing to do: the code was marked used when it was claimed."""

    def authenticate_user(self, authorization_code: StoredCode) -> families.Owner | None:
        return active_user(current().connection, authorization_code.row.user_id)


class ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]  # noqa: RUF012

    def create_token_response(self) -> Any:
        scope = self.client.get_allowed_scope(self.request.payload.scope)
        if scope is None:
            raise InvalidScopeError(description="the client's application does not hold it")
        token = self.generate_token(scope=scope, include_refresh_token=False)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER


class RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ANY_CLIENT_AUTH
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> StoredRefresh | None:
        call = current()
        row = families.claim_refresh(call.connection, self.server.pepper, refresh_token, call.now)
        return None if row is None else StoredRefresh(row)

    def authenticate_user(self, refresh_token: StoredRefresh) -> families.Owner | None:
        return active_user(current().connection, refresh_token.row.owner_id)

    def revoke_old_credential(self, refresh_token: StoredRefresh) -> None:
        """Nothing to do: the token was marked used when it was claimed (rotation)."""
