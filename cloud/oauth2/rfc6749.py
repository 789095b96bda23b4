"""The OAuth 2 authorization server (RFC 6749), built on authlib's.

authlib validates requests and shapes answers and errors (section 5.2 codes
and statuses; a redirect only to a redirect URI the client registered). This
class supplies storage: clients, codes and tokens live in the cloud database
and access tokens are ordinary rows of ``tokens``, so the Authenticator
enforces them like every other token. See :mod:`.bridge` for why everything
here runs in the thread pool on a :class:`~.bridge.Snapshot`.
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2 import rfc6749
from authlib.oauth2.rfc6749.errors import InvalidScopeError

from edgeward.cloud.identity import audit
from edgeward.cloud.identity import grants as grant_maps
from edgeward.cloud.identity.principal import new_id
from edgeward.cloud.oauth2 import clients, families, scopes
from edgeward.cloud.oauth2.bridge import Answer, Snapshot, SnapshotRequest, current
from edgeward.cloud.oauth2.rfc6749_grants import (
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    RefreshTokenGrant,
)
from edgeward.cloud.oauth2.rfc7009 import RevocationEndpoint
from edgeward.cloud.oauth2.rfc7636 import S256CodeChallenge
from edgeward.cloud.oauth2.rfc7662 import IntrospectionEndpoint


class AuthorizationServer(rfc6749.AuthorizationServer):  # type: ignore[misc]
    def __init__(self, pepper: bytes) -> None:
        super().__init__(scopes_supported=scopes.every_scope())
        self.pepper = pepper
        self.register_token_generator("default", self._token_shape)
        self.register_grant(AuthorizationCodeGrant, [S256CodeChallenge()])
        self.register_grant(ClientCredentialsGrant)
        self.register_grant(RefreshTokenGrant)
        self.register_endpoint(RevocationEndpoint)
        self.register_endpoint(IntrospectionEndpoint)

    def query_client(self, client_id: str) -> clients.Client | None:
        return clients.find(current().connection, self.pepper, client_id)

    def create_oauth2_request(self, request: Any) -> rfc6749.OAuth2Request:
        if isinstance(request, rfc6749.OAuth2Request):
            return request
        assert isinstance(request, Snapshot), "the bridge hands authlib snapshots only"
        return SnapshotRequest(request)

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError("no endpoint of this server takes JSON")

    def handle_response(self, status: int, body: Any, headers: Any) -> Answer:
        return Answer(status, body, list(headers or []))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """authlib's signals; the audit is written where the facts are, not here."""

    def validate_requested_scope(self, scope: str | None) -> None:
        scopes.parse(scope)  # invalid_scope for an unknown API or verb

    def _token_shape(
        self,
        grant_type: str,
        client: clients.Client,
        user: Any = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        """The answer's shape (RFC 6749 section 5.1); :meth:`save_token` fills the
        secrets in, because only storing the rows makes them."""
        lifetime = families.access_lifetime_s(current().connection, client.account_id)
        shape: dict[str, Any] = {"token_type": "Bearer", "expires_in": lifetime, "scope": scope}
        if include_refresh_token:
            shape["refresh_token"] = None
        return shape

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        call = current()
        client: clients.Client = request.client
        owner = request.user or families.Owner(
            "application", client.application_id, client.account_id, client.holds
        )
        family_id = _family_of(request)
        # What the client and the owner hold now: a refresh long after consent
        # never brings back what was taken from either since.
        grants = grant_maps.intersect(
            grant_maps.intersect(scopes.parse(token["scope"]), client.holds), owner.grants
        )
        if not grants:
            raise InvalidScopeError(description="nothing of this scope is held any more")
        token["scope"] = scopes.to_scope(grants)
        issued = families.issue_access(
            call.connection,
            self.pepper,
            client=client,
            owner=owner,
            grants=grants,
            family_id=family_id,
            lifetime_s=token["expires_in"],
            now=call.now,
        )
        token["access_token"] = issued.secret
        if "refresh_token" in token:
            token["refresh_token"] = families.issue_refresh(
                call.connection,
                self.pepper,
                client=client,
                owner=owner,
                grants=grants,
                family_id=family_id,
                now=call.now,
            )
        grant_type = request.payload.grant_type
        audit.record(
            call.connection,
            "oauth2.token.refreshed" if grant_type == "refresh_token" else "oauth2.token.issued",
            account_id=client.account_id,
            actor=f"client:{client.id}",
            target=issued.id,
            client=call.client,
            prefix=issued.prefix,
            owner=owner.reference,
            grant_type=grant_type,
            scope=token["scope"],
            family=family_id,
        )


def _family_of(request: Any) -> str:
    """The family a new token joins: its code's, its refresh token's, or a new one."""
    if request.authorization_code is not None:
        return str(request.authorization_code.family_id)
    if request.refresh_token is not None:
        return str(request.refresh_token.family_id)
    return new_id("fam")
