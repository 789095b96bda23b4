"""Route x verb x grant: for every route, no credential 401, a credential lacking
exactly that (API, verb) 403, one holding it succeeds, and the same one revoked
or expired 401 -- on SQLite and PostgreSQL, and for every kind of credential:
bearer tokens, OAuth 2 access tokens and OAuth 1.0a signed requests."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeward.cloud.identity import grants as grant_maps
from tests.cloud.credential_kinds import KINDS, CredentialKind
from tests.cloud.routes_catalog import EXAMPLES, all_routes, gateway_request, send
from tests.peers.cloud import CloudServer

# Slow: every route, refused every way: minutes.
pytestmark = pytest.mark.slow

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


def test_every_route_has_an_example(tmp_path: Path) -> None:
    missing = [
        (verb, path) for verb, path, _ in all_routes(tmp_path) if (verb, path) not in EXAMPLES
    ]
    assert missing == [], "add an example to tests/cloud/routes_catalog.py for each new route"


# Each OAuth credential is minted over HTTP (consent and token exchange, or an
# application and its OAuth 1 credentials): some 250 requests per run, more
# than the default per-test guard allows on a loaded machine.
@pytest.mark.timeout(900)
@pytest.mark.parametrize("kind", KINDS)
def test_route_verb_grant_matrix(tmp_path: Path, api_cloud: CloudServer, kind: str) -> None:
    credentials = CredentialKind(kind, api_cloud)
    account = api_cloud.account
    checked = 0
    for verb, path, api in all_routes(tmp_path):
        example = EXAMPLES[(verb, path)]
        request = example.build(api_cloud, account)
        where = f"{kind}: {verb} {path}"
        if api is None:
            with api_cloud.client() as anonymous:
                response = send(anonymous, verb, request)
            if example.status is not None:
                assert response.status_code == example.status, f"{where}: {response.text}"
            else:
                assert 200 <= response.status_code < 300, f"{where}: {response.text}"
            continue
        with api_cloud.client() as anonymous:
            response = send(anonymous, verb, request)
            assert (response.status_code, response.json()) == (401, UNAUTHENTICATED), where
        with credentials.client(credentials.mint(*all_but(api, verb))) as lacking:
            response = send(lacking, verb, request)
            assert response.status_code == 403, f"{where}: {response.text}"
            assert response.json()["error"]["code"] == "forbidden"
        if example.principal == "gateway":
            gateway = api_cloud.add_gateway()
            request = gateway_request(verb, path, gateway.id, api_cloud)
            with api_cloud.client(gateway.credential) as granted:
                response = send(granted, verb, request)
                assert 200 <= response.status_code < 300, f"{where}: {response.text}"
            checked += 1
            continue
        grants = (f"{api}:{verb}", *example.extra, *credentials.principal_grants(path))
        credential = credentials.mint(*grants)
        with credentials.client(credential) as granted:
            response = send(granted, verb, request)
            assert 200 <= response.status_code < 300, f"{where}: {response.text}"
        credentials.revoke(credential)
        with credentials.client(credential) as revoked:
            response = send(revoked, verb, example.build(api_cloud, account))
            assert (response.status_code, response.json()) == (401, UNAUTHENTICATED), where
        with credentials.client(credentials.expired(*grants)) as old:
            response = send(old, verb, example.build(api_cloud, account))
            assert (response.status_code, response.json()) == (401, UNAUTHENTICATED), where
        checked += 1
    assert checked >= 20
