"""Directory sign-in against a real slapd, through the served cloud, on SQLite and PostgreSQL:
group -> grants mapping, wrong password, unknown, disabled and removed users, injection
attempts, empty password, directory down, StartTLS and LDAPS, concurrent sign-ins."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from edgeward.cloud.identity import grants as grant_maps
from tests.peers.cloud import Account, CloudServer
from tests.peers.slapd import (
    OPERATORS,
    READERS,
    SERVICE_PASSWORD,
    Slapd,
    directory_settings,
    search_bind,
)

REFUSED = {
    "error": {"code": "unauthenticated", "message": "invalid account, user name or password"}
}
ADMIN = grant_maps.to_json(grant_maps.ROLE_GRANTS["admin"])
READER = {"data-sources": ["GET"], "readings": ["GET"]}


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    with Slapd(tmp_path_factory.mktemp("slapd")) as server:
        yield server


def configure(cloud: CloudServer, account: Account, body: dict[str, Any]) -> httpx.Response:
    with cloud.client(account.owner_token) as owner:
        return owner.put("/v1/directory", json=body)


def directory_account(cloud: CloudServer, slapd: Slapd, **overrides: Any) -> Account:
    account = cloud.new_account("directory")
    configure(cloud, account, directory_settings(slapd, **overrides)).raise_for_status()
    return account


def sign_in(cloud: CloudServer, account: Account, username: str, password: str) -> httpx.Response:
    with cloud.client() as anonymous:
        body = {"account": account.id, "username": username, "password": password}
        return anonymous.post("/v1/directory/sign-in", json=body)


def audit(cloud: CloudServer, account: Account, event: str) -> list[dict[str, Any]]:
    with cloud.client(account.owner_token) as owner:
        page = owner.get("/v1/audit-events", params={"event": event, "limit": 200})
        return list(page.raise_for_status().json()["items"])


def test_groups_map_to_grants_and_never_more(api_cloud: CloudServer, slapd: Slapd) -> None:
    account = directory_account(api_cloud, slapd)
    alice = sign_in(api_cloud, account, "alice", "alice-pass")
    assert alice.status_code == 201, alice.text
    assert alice.json()["grants"] == ADMIN  # operators -> admin; "unmapped" adds nothing
    assert alice.json()["groups"] == [OPERATORS]
    bob = sign_in(api_cloud, account, "bob", "bob-pass").json()
    assert bob["grants"] == READER
    with api_cloud.client(bob["secret"]) as client:
        assert client.get("/v1/readings").status_code == 200
        assert client.get("/v1/users").status_code == 403
        assert client.post("/v1/tokens", json={"name": "t", "grants": {}}).status_code == 403
    with api_cloud.client(alice.json()["secret"]) as client:
        me = client.get(f"/v1/users/{alice.json()['owner']['id']}").json()
    assert me["role"] == "directory"
    assert me["email"] == "alice@corp.example"
    assert me["directory"]["username"] == "alice"
    assert me["grants"] == ADMIN
    again = sign_in(api_cloud, account, "ALICE", "alice-pass").json()
    assert again["owner"] == alice.json()["owner"], "linked by entryUUID, not a new user"
    signed = audit(api_cloud, account, "directory.sign-in")
    assert signed[0]["details"]["grants"] == ADMIN
    assert signed[0]["details"]["groups"] == [OPERATORS]


def test_a_user_whose_groups_map_to_nothing_gets_no_token(
    api_cloud: CloudServer, slapd: Slapd
) -> None:
    account = directory_account(api_cloud, slapd)
    carol = sign_in(api_cloud, account, "carol", "carol-pass")
    assert carol.status_code == 403
    assert "secret" not in carol.text
    assert audit(api_cloud, account, "directory.sign-in") == []


@pytest.mark.parametrize("mode", ["direct", "search"])
def test_wrong_password_and_unknown_user_answer_alike(
    api_cloud: CloudServer, slapd: Slapd, mode: str
) -> None:
    bind = search_bind() if mode == "search" else None
    account = directory_account(api_cloud, slapd, **({"bind": bind} if bind else {}))
    wrong = sign_in(api_cloud, account, "alice", "not-alices-password")
    unknown = sign_in(api_cloud, account, "nobody", "whatever-pass")
    assert (wrong.status_code, wrong.json()) == (401, REFUSED)
    assert (unknown.status_code, unknown.json()) == (401, REFUSED)
    failures = audit(api_cloud, account, "directory.sign-in-failed")
    reasons = {event["details"]["username"]: event["details"]["reason"] for event in failures}
    assert reasons["alice"] == "invalid-credentials"
    assert reasons["nobody"] == (
        "not-found-or-disabled" if mode == "search" else "invalid-credentials"
    )
    logged = json.dumps(failures) + (api_cloud.root / "cloud.log").read_text()
    assert "not-alices-password" not in logged and "whatever-pass" not in logged


INJECTIONS = ["*", "*)(uid=*", "j*", "alice)(|(uid=*", "*)(|(objectClass=*", "bob\\00"]


@pytest.mark.parametrize("mode", ["direct", "search"])
def test_injection_attempts_find_nobody(api_cloud: CloudServer, slapd: Slapd, mode: str) -> None:
    bind = search_bind() if mode == "search" else None
    account = directory_account(api_cloud, slapd, **({"bind": bind} if bind else {}))
    for attempt in [*INJECTIONS, "bob,ou=people", "bob+cn=bob"]:
        for password in ("bob-pass", "doe-pass"):
            response = sign_in(api_cloud, account, attempt, password)
            assert (response.status_code, response.json()) == (401, REFUSED), attempt
    control = sign_in(api_cloud, account, "bob\x00", "bob-pass")
    assert (control.status_code, control.json()["error"]["field"]) == (422, "body.username")
    # The same names are taken literally: users whose names hold the special characters.
    literal = sign_in(api_cloud, account, "j*(doe)", "doe-pass")
    assert literal.status_code == 201, literal.text
    assert sign_in(api_cloud, account, "smith, j", "smith-pass").status_code == 201
    assert audit(api_cloud, account, "directory.sign-in")[0]["details"]["username"] == "smith, j"


def test_an_empty_password_is_never_sent(api_cloud: CloudServer, slapd: Slapd) -> None:
    # This slapd accepts unauthenticated binds (RFC 4513 §5.1.2), as some servers do.
    account = directory_account(api_cloud, slapd)
    response = sign_in(api_cloud, account, "alice", "")
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "password"
    (failure,) = audit(api_cloud, account, "directory.sign-in-failed")
    assert failure["details"]["reason"] == "empty-password"


def test_disabled_and_removed_users_are_refused_at_next_sign_in_and_lose_their_tokens(
    api_cloud: CloudServer, tmp_path: Path
) -> None:
    with Slapd(tmp_path / "slapd") as own:  # this test changes its directory
        _disable_and_remove(api_cloud, own)


def _disable_and_remove(api_cloud: CloudServer, slapd: Slapd) -> None:
    account = directory_account(api_cloud, slapd, bind=search_bind())
    frank = sign_in(api_cloud, account, "frank", "frank-pass").json()["secret"]
    grace = sign_in(api_cloud, account, "grace", "grace-pass").json()["secret"]
    assert sign_in(api_cloud, account, "dave", "dave-pass").status_code == 401  # disabled
    slapd.disable("frank")
    slapd.delete("grace")
    for name, secret in (("frank", frank), ("grace", grace)):
        with api_cloud.client(secret) as client:
            assert client.get("/v1/readings").status_code == 200
        refused = sign_in(api_cloud, account, name, f"{name}-pass")
        assert (refused.status_code, refused.json()) == (401, REFUSED)
        with api_cloud.client(secret) as client:
            assert client.get("/v1/readings").status_code == 401
    failures = audit(api_cloud, account, "directory.sign-in-failed")
    assert {e["details"]["username"]: e["details"]["revoked_tokens"] for e in failures} == {
        "frank": 1,
        "grace": 1,
        "dave": 0,
    }


def test_a_narrower_mapping_narrows_tokens_at_once_and_removal_revokes_them(
    api_cloud: CloudServer, slapd: Slapd
) -> None:
    account = directory_account(api_cloud, slapd)
    bob = sign_in(api_cloud, account, "bob", "bob-pass").json()["secret"]
    narrower = directory_settings(
        slapd, mapping=[{"group": READERS, "grants": {"readings": ["GET"]}}]
    )
    configure(api_cloud, account, narrower).raise_for_status()
    with api_cloud.client(bob) as client:
        assert client.get("/v1/readings").status_code == 200
        assert client.get("/v1/data-sources").status_code == 403
    with api_cloud.client(account.owner_token) as owner:
        assert owner.delete("/v1/directory").status_code == 204
        assert owner.get("/v1/directory").status_code == 404
    with api_cloud.client(bob) as client:
        assert client.get("/v1/readings").status_code == 401
    assert sign_in(api_cloud, account, "bob", "bob-pass").status_code == 401


def test_directory_down_is_a_precise_503_and_grants_nothing(
    api_cloud: CloudServer, tmp_path: Path
) -> None:
    with Slapd(tmp_path / "slapd") as own:
        account = directory_account(api_cloud, own)
        assert sign_in(api_cloud, account, "bob", "bob-pass").status_code == 201
        own.stop()
        down = sign_in(api_cloud, account, "bob", "bob-pass")
        assert down.status_code == 503
        assert down.json()["error"]["code"] == "directory_unavailable"
        assert "Retry-After" in down.headers
        assert "127.0.0.1" not in down.text, "clients learn nothing about the server"
        (failure,) = audit(api_cloud, account, "directory.sign-in-failed")
        assert failure["details"]["reason"] == "directory-unavailable"
        assert "refused" in failure["details"]["detail"].lower()
        assert len(audit(api_cloud, account, "directory.sign-in")) == 1
        own.start()
        assert sign_in(api_cloud, account, "bob", "bob-pass").status_code == 201


def test_a_directory_that_hangs_is_a_503_after_its_timeout(
    api_cloud: CloudServer, tmp_path: Path
) -> None:
    with Slapd(tmp_path / "slapd") as own:
        account = directory_account(api_cloud, own, timeout_s=1)
        own.pause()
        try:
            hung = sign_in(api_cloud, account, "bob", "bob-pass")
        finally:
            own.resume()
        assert hung.status_code == 503
        assert hung.json()["error"]["code"] == "directory_unavailable"
        assert sign_in(api_cloud, account, "bob", "bob-pass").status_code == 201


def test_a_refused_service_account_is_the_directory_unusable_not_the_user(
    api_cloud: CloudServer, slapd: Slapd
) -> None:
    wrong = {**search_bind(), "service_password": "not-the-service-password"}
    account = directory_account(api_cloud, slapd, bind=wrong)
    response = sign_in(api_cloud, account, "bob", "bob-pass")
    assert response.status_code == 503
    (failure,) = audit(api_cloud, account, "directory.sign-in-failed")
    assert "service account" in failure["details"]["detail"]


def test_starttls_and_ldaps_verify_the_server_against_the_account_ca(
    api_cloud: CloudServer, slapd: Slapd
) -> None:
    ca = slapd.certificates.ca_file.read_text()
    account = directory_account(api_cloud, slapd, tls="starttls", ca_pem=ca)
    assert sign_in(api_cloud, account, "bob", "bob-pass").status_code == 201
    ldaps = directory_account(api_cloud, slapd, url=slapd.ldaps_url, tls=None, ca_pem=ca)
    assert sign_in(api_cloud, ldaps, "bob", "bob-pass").status_code == 201
    # Without the test CA the server is not trusted: nothing is sent, nobody gets in.
    untrusted = directory_account(api_cloud, slapd, tls="starttls")
    refused = sign_in(api_cloud, untrusted, "bob", "bob-pass")
    assert refused.status_code == 503
    (failure,) = audit(api_cloud, untrusted, "directory.sign-in-failed")
    assert "CERTIFICATE_VERIFY_FAILED" in failure["details"]["detail"]


def test_parallel_sign_ins_each_get_their_own_grants(api_cloud: CloudServer, slapd: Slapd) -> None:
    account = directory_account(api_cloud, slapd, bind=search_bind(), max_connections=2)
    who = ["alice", "bob"] * 8

    def one(name: str) -> tuple[str, httpx.Response]:
        return name, sign_in(api_cloud, account, name, f"{name}-pass")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, who))
    for name, response in results:
        assert response.status_code == 201, response.text
        assert response.json()["grants"] == (ADMIN if name == "alice" else READER), name
    users = {response.json()["owner"]["id"] for _, response in results}
    assert len(users) == 2, "one user record per directory entry, however parallel"


def test_settings_never_return_the_service_password(api_cloud: CloudServer, slapd: Slapd) -> None:
    account = directory_account(api_cloud, slapd, bind=search_bind())
    with api_cloud.client(account.owner_token) as owner:
        shown = owner.get("/v1/directory").json()
        assert shown["service_password_set"] is True
        assert SERVICE_PASSWORD not in json.dumps(shown)
        # Kept when the service DN stays and no new password is given.
        kept = directory_settings(
            slapd, bind={"method": "search", "service_dn": shown["bind"]["service_dn"]}
        )
        assert owner.put("/v1/directory", json=kept).status_code == 200
        events = owner.get("/v1/audit-events", params={"limit": 50}).text
    assert SERVICE_PASSWORD not in events
    assert sign_in(api_cloud, account, "bob", "bob-pass").status_code == 201


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"url": "http://dir.example"}, "url"),
        ({"url": "ldaps://dir.example", "tls": "starttls"}, "tls"),
        ({"user_filter": "(uid=alice)"}, "user_filter"),
        ({"user_filter": "(&(uid={username})"}, "user_filter"),
        ({"base_dn": "not a dn"}, "base_dn"),
        ({"bind": {"method": "direct", "dn_template": "uid=x,dc=example"}}, "bind.dn_template"),
        (
            {"bind": {"method": "search", "service_dn": "cn=svc,dc=example"}},
            "bind.service_password",
        ),
        ({"mapping": [{"group": OPERATORS, "role": "emperor"}]}, "mapping[0].role"),
        ({"mapping": [{"group": OPERATORS}]}, "mapping[0]"),
        (
            {"mapping": [{"group": OPERATORS, "grants": {"nope": ["GET"]}}]},
            "mapping[0].grants.nope",
        ),
        ({"ca_pem": "not a certificate"}, "ca_pem"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(
    api_cloud: CloudServer, slapd: Slapd, override: dict[str, Any], field: str
) -> None:
    account = api_cloud.new_account("bad settings")
    response = configure(api_cloud, account, directory_settings(slapd, **override))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    with api_cloud.client(account.owner_token) as owner:
        assert owner.get("/v1/directory").status_code == 404, "nothing half-kept"


def test_nobody_maps_groups_to_more_than_they_hold(api_cloud: CloudServer, slapd: Slapd) -> None:
    account = api_cloud.new_account("narrow admin")
    narrow = api_cloud.token_with("directory:PUT", "readings:GET", account=account)
    with api_cloud.client(narrow) as client:
        beyond = client.put("/v1/directory", json=directory_settings(slapd))
        assert beyond.status_code == 403, beyond.text
        within = directory_settings(
            slapd, mapping=[{"group": READERS, "grants": {"readings": ["GET"]}}]
        )
        assert client.put("/v1/directory", json=within).status_code == 200


def test_a_directory_users_role_is_not_changed_locally(
    api_cloud: CloudServer, slapd: Slapd
) -> None:
    account = directory_account(api_cloud, slapd)
    bob = sign_in(api_cloud, account, "bob", "bob-pass").json()
    with api_cloud.client(account.owner_token) as owner:
        user = f"/v1/users/{bob['owner']['id']}"
        assert owner.put(user, json={"role": "owner"}).status_code == 409
        assert owner.put(user, json={"disabled": True}).status_code == 200
    with api_cloud.client(bob["secret"]) as client:
        assert client.get("/v1/readings").status_code == 401
    disabled = sign_in(api_cloud, account, "bob", "bob-pass")
    assert disabled.status_code == 403, "the account disabled them; the directory can't undo it"


def test_unknown_account_or_no_directory_answer_like_a_wrong_password(
    api_cloud: CloudServer,
) -> None:
    bare = api_cloud.new_account("no directory")
    for account_id in (bare.id, "acc-000000000000"):
        response = sign_in(api_cloud, Account(account_id, "", ""), "bob", "bob-pass")
        assert (response.status_code, response.json()) == (401, REFUSED)


def test_a_directory_users_own_tokens_end_with_their_sign_in(
    api_cloud: CloudServer, slapd: Slapd
) -> None:
    account = directory_account(api_cloud, slapd, token_lifetime_s=3600)
    alice = sign_in(api_cloud, account, "alice", "alice-pass").json()
    with api_cloud.client(alice["secret"]) as client:
        forever = client.post("/v1/tokens", json={"name": "t", "grants": {"readings": ["GET"]}})
        assert forever.status_code == 422, forever.text
        assert forever.json()["error"]["field"] == "expires_in"
        longer = {"name": "t", "grants": {"readings": ["GET"]}, "expires_in": 7200}
        assert client.post("/v1/tokens", json=longer).status_code == 422
        within = {**longer, "expires_in": 600}
        assert client.post("/v1/tokens", json=within).status_code == 201
        # Applications belong to the account, not to the person: not capped.
        app = client.post("/v1/applications", json={"name": "a", "grants": {}}).json()
        minted = {"name": "t", "grants": {}, "owner": {"kind": "application", "id": app["id"]}}
        assert client.post("/v1/tokens", json=minted).status_code == 201


def test_sync_takes_tokens_of_the_gone_and_grants_of_the_regrouped_at_once(
    api_cloud: CloudServer, tmp_path: Path
) -> None:
    with Slapd(tmp_path / "slapd") as own:
        account = directory_account(api_cloud, own, bind=search_bind())
        signed = {
            name: sign_in(api_cloud, account, name, f"{name}-pass").json()
            for name in ("alice", "bob", "frank")
        }
        own.disable("frank")
        own.leave("bob", READERS)
        with api_cloud.client(account.owner_token) as owner:
            synced = owner.post("/v1/directory/sync")
        assert synced.status_code == 200, synced.text
        assert synced.json() == {
            "checked": 3,
            "gone": [signed["frank"]["owner"]["id"]],
            "revoked_tokens": 1,
        }
        with api_cloud.client(signed["frank"]["secret"]) as client:
            assert client.get("/v1/account").status_code == 401
        with api_cloud.client(signed["bob"]["secret"]) as client:
            assert client.get("/v1/readings").status_code == 403
        with api_cloud.client(signed["alice"]["secret"]) as client:
            assert client.get("/v1/users").status_code == 200
        (event,) = audit(api_cloud, account, "directory.synced")
        assert event["details"]["revoked_tokens"] == 1


def test_sync_needs_a_service_account(api_cloud: CloudServer, slapd: Slapd) -> None:
    account = directory_account(api_cloud, slapd)
    with api_cloud.client(account.owner_token) as owner:
        assert owner.post("/v1/directory/sync").status_code == 409
