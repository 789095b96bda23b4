"""Token life cycle through the API: shown once, narrowed by the owner, regenerated,
revoked, expired, capped by policy; failures all look alike and are audited."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from edgeward.cloud.auth import credentials
from edgeward.cloud.storage.schema import tokens
from edgeward.sync.clock import now_us
from tests.cloud.test_route_matrix import UNAUTHENTICATED
from tests.peers import wait_until
from tests.peers.cloud import Account, CloudServer


def create(client: httpx.Client, grants: dict[str, list[str]], **extra: object) -> httpx.Response:
    return client.post("/v1/tokens", json={"name": "t", "grants": grants, **extra})


def status(cloud: CloudServer, secret: str, path: str = "/v1/account") -> int:
    with cloud.client(secret) as client:
        return client.get(path).status_code


@pytest.fixture
def account(api_cloud: CloudServer) -> Account:
    return api_cloud.new_account()


def test_secret_is_shown_once_and_never_listed(api_cloud: CloudServer, account: Account) -> None:
    with api_cloud.client(account.owner_token) as owner:
        created = create(owner, {"readings": ["GET"], "accounts": ["GET"]}, expires_in=3600)
        assert created.status_code == 201
        token = created.json()
        assert credentials.kind_of(token["secret"]) == credentials.API_TOKEN
        assert token["secret"].startswith(token["prefix"]) and token["expires"]
        assert status(api_cloud, token["secret"]) == 200
        listed = owner.get("/v1/tokens").json()["items"]
        one = owner.get(f"/v1/tokens/{token['id']}").json()
    assert token["secret"] not in str(listed) + str(one)
    assert one["prefix"] == token["prefix"] and one["status"] == "active"
    assert one["owner"] == {"kind": "user", "id": account.owner_id}
    assert one["grants"] == {"accounts": ["GET"], "readings": ["GET"]}
    assert one["last_used"] is not None and one["created"] and one["expires"]


@pytest.mark.parametrize(
    ("grants", "field"),
    [({"readingz": ["GET"]}, "grants.readingz"), ({"readings": ["PATCH"]}, "grants.readings")],
)
def test_unknown_api_or_verb_is_422_naming_it(
    api_cloud: CloudServer, account: Account, grants: dict[str, list[str]], field: str
) -> None:
    with api_cloud.client(account.owner_token) as owner:
        response = create(owner, grants)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field


def test_a_token_cannot_mint_more_than_it_holds(api_cloud: CloudServer, account: Account) -> None:
    narrow = api_cloud.token_with("tokens:POST", "readings:GET", account=account)
    with api_cloud.client(narrow) as client:
        assert create(client, {"readings": ["GET"]}).status_code == 201
        refused = create(client, {"readings": ["GET"], "users": ["POST"]})
    assert refused.status_code == 403
    assert "users:POST" in refused.json()["error"]["message"]


def test_owner_losing_a_grant_narrows_its_tokens(api_cloud: CloudServer, account: Account) -> None:
    with api_cloud.client(account.owner_token) as owner:
        user = owner.post("/v1/users", json={"email": "ad@x.io", "role": "admin"}).json()
    admin_token = api_cloud.token_with("users:GET,POST", account=account)
    settings, database = api_cloud._open_storage()
    with database.engine.begin() as connection:  # re-own the token by the new admin user
        connection.execute(
            tokens.update()
            .where(tokens.c.secret_hash == credentials.keyed_hash(settings.pepper, admin_token))
            .values(owner_id=user["id"])
        )
    assert status(api_cloud, admin_token, "/v1/users") == 200
    with api_cloud.client(account.owner_token) as owner:
        owner.put(f"/v1/users/{user['id']}", json={"role": "installer"}).raise_for_status()
    assert status(api_cloud, admin_token, "/v1/users") == 403, "installers may not list users"
    with api_cloud.client(account.owner_token) as owner:
        owner.delete(f"/v1/users/{user['id']}").raise_for_status()
    assert status(api_cloud, admin_token, "/v1/users") == 401, "a removed user's tokens are dead"


def test_regenerate_kills_the_old_secret_at_once(api_cloud: CloudServer, account: Account) -> None:
    with api_cloud.client(account.owner_token) as owner:
        token = create(owner, {"accounts": ["GET"]}).json()
        fresh = owner.post(f"/v1/tokens/{token['id']}/regenerate", json={}).json()
    assert fresh["id"] == token["id"] and fresh["secret"] != token["secret"]
    assert fresh["grants"] == {"accounts": ["GET"]}
    assert status(api_cloud, fresh["secret"]) == 200
    assert status(api_cloud, token["secret"]) == 401


def test_regenerate_with_grace_keeps_the_old_secret_for_a_while(
    api_cloud: CloudServer, account: Account
) -> None:
    with api_cloud.client(account.owner_token) as owner:
        token = create(owner, {"accounts": ["GET"]}).json()
        fresh = owner.post(f"/v1/tokens/{token['id']}/regenerate", json={"grace_seconds": 1}).json()
    assert status(api_cloud, token["secret"]) == 200, "still inside the grace period"
    assert status(api_cloud, fresh["secret"]) == 200
    wait_until(lambda: status(api_cloud, token["secret"]) == 401, "the grace period to end")
    assert status(api_cloud, fresh["secret"]) == 200


def test_revoked_token_is_401(api_cloud: CloudServer, account: Account) -> None:
    with api_cloud.client(account.owner_token) as owner:
        token = create(owner, {"accounts": ["GET"]}).json()
        assert owner.delete(f"/v1/tokens/{token['id']}").status_code == 204
        assert owner.get(f"/v1/tokens/{token['id']}").json()["status"] == "revoked"
    assert status(api_cloud, token["secret"]) == 401


def test_policy_caps_token_lifetime(api_cloud: CloudServer, account: Account) -> None:
    with api_cloud.client(account.owner_token) as owner:
        policy = {"token_max_lifetime_s": 3600}
        assert owner.put("/v1/account/policy", json=policy).status_code == 200
        forever = create(owner, {"accounts": ["GET"]})
        too_long = create(owner, {"accounts": ["GET"]}, expires_in=7200)
        within = create(owner, {"accounts": ["GET"]}, expires_in=600)
    assert forever.status_code == too_long.status_code == 422
    assert forever.json()["error"]["field"] == "expires_in"
    assert within.status_code == 201


def test_policy_revokes_non_expiring_tokens_unused_for_long(
    api_cloud: CloudServer, account: Account
) -> None:
    idle = api_cloud.token_with("accounts:GET", account=account)
    with api_cloud.client(account.owner_token) as owner:
        policy = {"revoke_unused_after_s": 86_400}
        owner.put("/v1/account/policy", json=policy).raise_for_status()
    settings, database = api_cloud._open_storage()
    long_ago = now_us() - 2 * 86_400 * 1_000_000
    with database.engine.begin() as connection:
        connection.execute(
            tokens.update()
            .where(tokens.c.secret_hash == credentials.keyed_hash(settings.pepper, idle))
            .values(created_us=long_ago, last_used_us=long_ago)
        )
    assert status(api_cloud, idle) == 401
    with database.engine.connect() as connection:
        reason = connection.execute(
            sa.select(tokens.c.revoked_reason).where(
                tokens.c.secret_hash == credentials.keyed_hash(settings.pepper, idle)
            )
        ).scalar_one()
    assert reason == "unused"


def test_every_authentication_failure_looks_the_same(
    api_cloud: CloudServer, account: Account
) -> None:
    with api_cloud.client(account.owner_token) as owner:
        revoked = create(owner, {"accounts": ["GET"]}).json()
        owner.delete(f"/v1/tokens/{revoked['id']}")
        regenerated = create(owner, {"accounts": ["GET"]}).json()
        owner.post(f"/v1/tokens/{regenerated['id']}/regenerate", json={})
    good = account.owner_token
    wrong_checksum = good[:-1] + ("A" if good[-1] != "A" else "B")
    unknown_kind = "ewx_" + good[4:]
    unknown = credentials.generate(credentials.API_TOKEN)
    for secret in (
        "garbage",
        wrong_checksum,
        unknown_kind,
        unknown,
        revoked["secret"],
        regenerated["secret"],
    ):
        with api_cloud.client(secret) as client:
            response = client.get("/v1/account")
        assert (response.status_code, response.json()) == (401, UNAUTHENTICATED), secret[:8]


def test_lifecycle_and_failures_are_audited_without_secrets(
    api_cloud: CloudServer, account: Account
) -> None:
    with api_cloud.client(account.owner_token) as owner:
        token = create(owner, {"accounts": ["GET"]}).json()
        fresh = owner.post(f"/v1/tokens/{token['id']}/regenerate", json={}).json()
        owner.delete(f"/v1/tokens/{token['id']}")
    assert status(api_cloud, fresh["secret"]) == 401  # revoked: the failure names the token
    reader = api_cloud.token_with("audit:GET", account=account)
    with api_cloud.client(reader) as client:
        events = client.get("/v1/audit-events", params={"limit": 1000}).json()["items"]
    about = [(e["event"], e["target"]) for e in events if e["target"] == token["id"]]
    assert ("token.created", token["id"]) in about
    assert ("token.regenerated", token["id"]) in about
    assert ("token.revoked", token["id"]) in about
    assert ("auth.failed", token["id"]) in about
    assert token["secret"] not in str(events) and fresh["secret"] not in str(events)


def test_no_secret_reaches_the_cloud_log(api_cloud: CloudServer, account: Account) -> None:
    with api_cloud.client(account.owner_token) as owner:
        token = create(owner, {"accounts": ["GET"]}).json()
    status(api_cloud, token["secret"])
    status(api_cloud, token["secret"] + "x")
    log = Path(api_cloud.process.log_path).read_text()
    assert token["secret"] not in log and account.owner_token not in log


@pytest.mark.parametrize("cursor", ["²", "99999999999999999999", "-1"])
def test_bad_audit_cursor_is_400(api_cloud: CloudServer, account: Account, cursor: str) -> None:
    with api_cloud.client(account.owner_token) as owner:
        response = owner.get("/v1/audit-events", params={"cursor": cursor})
    assert response.status_code == 400 and response.json()["error"]["field"] == "cursor"


def test_audit_pages_cover_the_log_once_newest_first(
    api_cloud: CloudServer, account: Account
) -> None:
    with api_cloud.client(account.owner_token) as owner:
        for _ in range(3):
            create(owner, {"accounts": ["GET"]})
        everything = owner.get("/v1/audit-events", params={"limit": 1000}).json()["items"]
        paged, cursor = [], None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = owner.get("/v1/audit-events", params=params).json()
            paged += page["items"]
            cursor = page["next_cursor"]
            if not page["has_more"]:
                break
    assert [e["id"] for e in paged] == [e["id"] for e in everything]
    assert [e["id"] for e in everything] == sorted((e["id"] for e in everything), reverse=True)
    assert len(everything) >= 5
