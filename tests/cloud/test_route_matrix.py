"""Route x verb x grant: for every route, no token 401, a token lacking exactly that
(API, verb) 403, a token holding it succeeds, and the same token revoked or
expired 401 -- on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from edgeward.cloud.identity import grants as grant_maps
from edgeward.cloud.identity.tokens import issue
from edgeward.sync.clock import now_us
from tests.cloud.routes_catalog import EXAMPLES, all_routes, gateway_request, send
from tests.peers.cloud import CloudServer

UNAUTHENTICATED = {
    "error": {
        "code": "unauthenticated",
        "message": "missing, malformed, unknown, expired or revoked credential",
    }
}


def all_but(api: str, verb: str) -> list[str]:
    specs = []
    for other_api, verbs in grant_maps.ROLE_GRANTS["owner"].items():
        kept = sorted(v for v in verbs if (other_api, v) != (api, verb))
        if kept:
            specs.append(f"{other_api}:{','.join(kept)}")
    return specs


def expired_token(cloud: CloudServer, *grants: str) -> str:
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


def test_every_route_has_an_example(tmp_path: Path) -> None:
    missing = [
        (verb, path) for verb, path, _ in all_routes(tmp_path) if (verb, path) not in EXAMPLES
    ]
    assert missing == [], "add an example to tests/cloud/routes_catalog.py for each new route"


def test_route_verb_grant_matrix(tmp_path: Path, api_cloud: CloudServer) -> None:
    account = api_cloud.account
    checked = 0
    for verb, path, api in all_routes(tmp_path):
        example = EXAMPLES[(verb, path)]
        request = example.build(api_cloud, account)
        where = f"{verb} {path}"
        if api is None:
            with api_cloud.client() as anonymous:
                response = send(anonymous, verb, request)
                assert 200 <= response.status_code < 300, f"{where}: {response.text}"
            continue
        with api_cloud.client() as anonymous:
            response = send(anonymous, verb, request)
            assert (response.status_code, response.json()) == (401, UNAUTHENTICATED), where
        with api_cloud.client(api_cloud.token_with(*all_but(api, verb))) as lacking:
            response = send(lacking, verb, request)
            assert response.status_code == 403, f"{where}: {response.text}"
            assert response.json()["error"]["code"] == "forbidden"
        if example.principal == "gateway":
            gateway = api_cloud.add_gateway()
            granted_secret = gateway.credential
            request = gateway_request(verb, path, gateway.id, api_cloud)
        else:
            granted_secret = api_cloud.token_with(f"{api}:{verb}", *example.extra)
        with api_cloud.client(granted_secret) as granted:
            response = send(granted, verb, request)
            assert 200 <= response.status_code < 300, f"{where}: {response.text}"
        if example.principal == "user":
            _revoke_by_secret(api_cloud, granted_secret)
            with api_cloud.client(granted_secret) as revoked:
                response = send(revoked, verb, example.build(api_cloud, account))
                assert (response.status_code, response.json()) == (401, UNAUTHENTICATED), where
            with api_cloud.client(expired_token(api_cloud, f"{api}:{verb}", *example.extra)) as old:
                response = send(old, verb, example.build(api_cloud, account))
                assert (response.status_code, response.json()) == (401, UNAUTHENTICATED), where
        checked += 1
    assert checked >= 20


def _revoke_by_secret(cloud: CloudServer, secret: str) -> None:
    with cloud.client(cloud.account.owner_token) as owner:
        tokens = owner.get("/v1/tokens").raise_for_status().json()["items"]
        (token,) = [t for t in tokens if secret.startswith(t["prefix"]) and t["status"] == "active"]
        owner.delete(f"/v1/tokens/{token['id']}").raise_for_status()
