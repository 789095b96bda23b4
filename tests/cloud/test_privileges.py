"""Nobody gains power through the identity APIs: not by regenerating someone else's
token, minting for an application, raising or lowering a role beyond their own,
or removing the last owner. Regression tests for the escalations a review found."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from edgeward.cloud.identity import grants as grant_maps
from tests.peers.cloud import Account, CloudServer

ALL = [f"{api}:{','.join(sorted(verbs))}" for api, verbs in grant_maps.ALL.items()]


@pytest.fixture
def account(api_cloud: CloudServer) -> Account:
    return api_cloud.new_account()


def user_token(cloud: CloudServer, account: Account, role: str) -> tuple[str, str]:
    """(user id, a token of that user asking for everything; it holds what the role holds)."""
    with cloud.client(account.owner_token) as owner:
        email = f"{role}-{len(owner.get('/v1/users').json()['items'])}@example.com"
        user = owner.post("/v1/users", json={"email": email, "role": role}).json()
    return user["id"], cloud.token_with(*ALL, account=account, user_id=user["id"])


def tokens_seen(cloud: CloudServer, secret: str) -> list[dict[str, Any]]:
    with cloud.client(secret) as client:
        return list(client.get("/v1/tokens").json()["items"])


def app_token(cloud: CloudServer, account: Account) -> dict[str, Any]:
    with cloud.client(account.owner_token) as owner:
        application = owner.post(
            "/v1/applications", json={"name": "etl", "grants": {"audit": ["GET"]}}
        ).json()
        return dict(
            owner.post(
                "/v1/tokens",
                json={
                    "name": "etl",
                    "grants": {"audit": ["GET"]},
                    "owner": {"kind": "application", "id": application["id"]},
                },
            ).json()
        )


def test_a_member_sees_and_manages_only_their_own_tokens(
    api_cloud: CloudServer, account: Account
) -> None:
    member_id, member = user_token(api_cloud, account, "member")
    stolen = app_token(api_cloud, account)
    gateway = api_cloud.add_gateway(account.owner_token)
    seen = tokens_seen(api_cloud, member)
    assert {(t["owner"]["kind"], t["owner"]["id"]) for t in seen} == {("user", member_id)}
    others = [
        t["id"]
        for t in tokens_seen(api_cloud, account.owner_token)
        if t["owner"] != {"kind": "user", "id": member_id}
    ]
    assert stolen["id"] in others
    with api_cloud.client(member) as client:
        for token_id in others:
            assert client.post(f"/v1/tokens/{token_id}/regenerate", json={}).status_code == 404
            assert client.delete(f"/v1/tokens/{token_id}").status_code == 404
    with api_cloud.client(gateway.credential) as as_gateway:
        assert as_gateway.get("/v1/registry").status_code == 200, "the gateway is untouched"


def test_a_member_cannot_mint_for_an_application(api_cloud: CloudServer, account: Account) -> None:
    _, member = user_token(api_cloud, account, "member")
    application_id = app_token(api_cloud, account)["owner"]["id"]
    with api_cloud.client(member) as client:
        response = client.post(
            "/v1/tokens",
            json={
                "name": "x",
                "grants": {"readings": ["GET"]},
                "owner": {"kind": "application", "id": application_id},
            },
        )
    assert response.status_code == 403


def test_an_admin_cannot_regenerate_a_more_powerful_token(
    api_cloud: CloudServer, account: Account
) -> None:
    _, admin = user_token(api_cloud, account, "admin")
    owner_tokens = [
        t for t in tokens_seen(api_cloud, admin) if t["owner"]["id"] == account.owner_id
    ]
    assert owner_tokens, "an admin (users:PUT) sees users' tokens"
    with api_cloud.client(admin) as client:
        response = client.post(f"/v1/tokens/{owner_tokens[0]['id']}/regenerate", json={})
    assert response.status_code == 403
    with httpx.Client(
        base_url=api_cloud.url, headers={"Authorization": f"Bearer {account.owner_token}"}
    ) as owner:
        assert owner.get("/v1/account").status_code == 200, "the owner's token still works"


def test_a_narrow_token_cannot_regenerate_a_wide_one(
    api_cloud: CloudServer, account: Account
) -> None:
    narrow = api_cloud.token_with("tokens:GET,POST,PUT,DELETE", account=account)
    wide = api_cloud.token_with(*ALL, account=account, name="wide")
    wide_id = next(t["id"] for t in tokens_seen(api_cloud, narrow) if t["name"] == "wide")
    with api_cloud.client(narrow) as client:
        assert client.post(f"/v1/tokens/{wide_id}/regenerate", json={}).status_code == 403
    with api_cloud.client(wide) as client:
        assert client.get("/v1/account").status_code == 200


def test_roles_beyond_ones_own_are_refused(api_cloud: CloudServer, account: Account) -> None:
    _, admin = user_token(api_cloud, account, "admin")
    with api_cloud.client(admin) as client:
        assert (
            client.post("/v1/users", json={"email": "o2@x.io", "role": "owner"}).status_code == 403
        )
        demote = client.put(f"/v1/users/{account.owner_id}", json={"role": "member"})
        remove = client.delete(f"/v1/users/{account.owner_id}")
        wide_app = client.post(
            "/v1/applications", json={"name": "a", "grants": {"accounts": ["DELETE"]}}
        )
    assert (demote.status_code, remove.status_code, wide_app.status_code) == (403, 403, 403)
    with api_cloud.client(account.owner_token) as owner:
        assert owner.get("/v1/account").status_code == 200


def test_the_last_owner_stays(api_cloud: CloudServer, account: Account) -> None:
    with api_cloud.client(account.owner_token) as owner:
        demote = owner.put(f"/v1/users/{account.owner_id}", json={"role": "admin"})
        remove = owner.delete(f"/v1/users/{account.owner_id}")
        assert (demote.status_code, remove.status_code) == (409, 409)
        assert owner.get(f"/v1/users/{account.owner_id}").json()["role"] == "owner"
        second = owner.post("/v1/users", json={"email": "o2@x.io", "role": "owner"}).json()
        assert owner.put(f"/v1/users/{second['id']}", json={"role": "admin"}).status_code == 200


def test_gateway_credentials_are_exempt_from_idle_revocation(
    api_cloud: CloudServer, account: Account
) -> None:
    from edgeward.cloud.storage.schema import tokens
    from edgeward.sync.clock import now_us

    gateway = api_cloud.add_gateway(account.owner_token)
    with api_cloud.client(account.owner_token) as owner:
        owner.put("/v1/account/policy", json={"revoke_unused_after_s": 3600}).raise_for_status()
    _, database = api_cloud._open_storage()
    long_ago = now_us() - 7 * 86_400 * 1_000_000
    with database.engine.begin() as connection:
        connection.execute(
            tokens.update()
            .where(tokens.c.owner_id == gateway.id)
            .values(created_us=long_ago, last_used_us=long_ago)
        )
    with api_cloud.client(gateway.credential) as as_gateway:
        assert as_gateway.get("/v1/registry").status_code == 200, "a week offline, still in"
