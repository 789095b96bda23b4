"""The kinds of credential a caller can hold, for tests that must hold for all of them:
a bearer API token, an OAuth 2 access token (authorization code flow, the
account owner consenting), and OAuth 1.0a credentials (signed requests)."""

from __future__ import annotations

from typing import Any

import httpx

from edgeward.cloud.identity import grants as grant_maps
from edgeward.cloud.identity.tokens import issue
from edgeward.cloud.storage.schema import tokens
from edgeward.sync.clock import now_us
from tests.cloud.oauth import expire_token, issue_oauth1, oauth1_client, oauth2_access_token
from tests.peers.cloud import CloudServer

KINDS = ("bearer", "oauth2", "oauth1")


class CredentialKind:
    """Mint, use, revoke and expire credentials of one kind in ``cloud``'s default account."""

    def __init__(self, kind: str, cloud: CloudServer) -> None:
        self.kind = kind
        self.cloud = cloud

    def mint(self, *grants: str) -> Any:
        account = self.cloud.account
        if self.kind == "oauth2":
            return oauth2_access_token(self.cloud, account, *grants)
        if self.kind == "oauth1":
            return issue_oauth1(self.cloud, account, *grants)
        return self.cloud.token_with(*grants)

    def client(self, credential: Any) -> httpx.Client:
        if self.kind == "oauth1":
            return oauth1_client(self.cloud, credential)
        return self.cloud.client(credential)

    def revoke(self, credential: Any) -> None:
        with self.cloud.client(self.cloud.account.owner_token) as owner:
            if self.kind == "oauth1":
                path = f"/v1/oauth1-credentials/{credential['id']}"
                owner.delete(path).raise_for_status()
                return
            tokens = owner.get("/v1/tokens").raise_for_status().json()["items"]
            (token,) = [
                t for t in tokens if credential.startswith(t["prefix"]) and t["status"] == "active"
            ]
            owner.delete(f"/v1/tokens/{token['id']}").raise_for_status()

    def expired(self, *grants: str) -> Any:
        if self.kind == "bearer":
            return _expired_bearer(self.cloud, *grants)
        credential = self.mint(*grants)
        if self.kind == "oauth2":
            expire_token(self.cloud, credential)
        else:
            _expire_token_id(self.cloud, credential["token_id"])
        return credential

    def principal_grants(self, path: str) -> tuple[str, ...]:
        """Grants the kind's principal needs beyond the route's own: an application
        (OAuth 1) sees other principals' tokens only with the grant that governs them."""
        if self.kind == "oauth1" and path.startswith("/v1/tokens/"):
            return ("users:PUT",)
        return ()


def _expired_bearer(cloud: CloudServer, *grants: str) -> str:
    settings, database = cloud._open_storage()
    with database.engine.begin() as connection:
        now = now_us()
        return issue(
            connection,
            settings.pepper,
            account_id=cloud.account.id,
            owner_kind="user",
            owner_id=cloud.account.owner_id,
            name="expired",
            grants=grant_maps.parse(list(grants)),
            expires_us=now - 1,
            now=now - 10_000_000,
        ).secret


def _expire_token_id(cloud: CloudServer, token_id: str) -> None:
    _, database = cloud._open_storage()
    with database.engine.begin() as connection:
        connection.execute(
            tokens.update().where(tokens.c.id == token_id).values(expires_us=now_us() - 1)
        )
