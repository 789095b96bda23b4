"""OAuth 1.0a signed requests (RFC 5849) against the served cloud, signed by
authlib's client: accepted when right; tampered, replayed, stale, badly
signed or revoked ones refused with nothing done."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from authlib.oauth1.rfc5849 import client_auth

from tests.cloud.oauth import SignedAuth, issue_oauth1, oauth1_client
from tests.peers.cloud import CloudServer

READINGS = "/v1/readings?order=desc"


def signed(
    cloud: CloudServer,
    credentials: dict[str, Any],
    method: str = "GET",
    url: str = READINGS,
    signature_method: str = "HMAC-SHA256",
    **kwargs: Any,
) -> httpx.Request:
    """A request signed by authlib's client, not sent yet."""
    auth = SignedAuth(
        client_id=credentials["consumer_key"],
        client_secret=credentials["consumer_secret"],
        token=credentials["token"],
        token_secret=credentials["token_secret"],
        signature_method=signature_method,
    )
    with httpx.Client(base_url=cloud.url) as http:
        request = http.build_request(method, url, **kwargs)
    return next(auth.auth_flow(request))


def send(request: httpx.Request) -> httpx.Response:
    with httpx.Client(timeout=10) as http:
        return http.send(request)


def one_character_off(secret: str) -> str:
    """The secret with its last character changed. Always changed: appending a
    fixed "x" in place of the last one gave the right secret back whenever it
    already ended in "x", one secret in 62, and the refusal test failed."""
    return secret[:-1] + ("x" if secret[-1] != "x" else "y")


def refused(response: httpx.Response, words: str) -> None:
    assert response.status_code == 401, response.text
    error = response.json()["error"]
    assert error["code"] == "unauthenticated" and words in error["message"], error


@pytest.fixture
def credentials(api_cloud: CloudServer) -> dict[str, Any]:
    return issue_oauth1(api_cloud, api_cloud.account, "readings:GET", "gateways:POST")


def test_signed_requests_act_with_the_applications_grants(
    api_cloud: CloudServer, credentials: dict[str, Any]
) -> None:
    assert credentials["signature_methods"] == ["HMAC-SHA256"]
    with oauth1_client(api_cloud, credentials) as app:
        assert app.get("/v1/readings").status_code == 200
        created = app.post("/v1/gateways", json={"name": "signed-gw"})
        assert created.status_code == 201, created.text
        assert app.get("/v1/gateways").status_code == 403
    with api_cloud.client(api_cloud.account.owner_token) as owner:
        listed = owner.get("/v1/oauth1-credentials").json()["items"]
        events = owner.get("/v1/audit-events", params={"event": "gateway.created"}).json()
    (mine,) = [c for c in listed if c["id"] == credentials["id"]]
    assert "consumer_secret" not in mine and "token_secret" not in mine
    actors = {e["actor"] for e in events["items"]}
    assert f"application:{credentials['application_id']}" in actors


def test_tampered_requests_are_refused(api_cloud: CloudServer, credentials: dict[str, Any]) -> None:
    request = signed(api_cloud, credentials)
    tampered = httpx.Request(
        "GET", str(request.url).replace("order=desc", "order=asc"), headers=request.headers
    )
    refused(send(tampered), "signature does not verify")
    wrong_secret = dict(credentials, token_secret=one_character_off(credentials["token_secret"]))
    refused(send(signed(api_cloud, wrong_secret)), "signature does not verify")
    unknown = dict(credentials, consumer_key="ck-000000000000000000000000")
    refused(send(signed(api_cloud, unknown)), "missing, malformed, unknown")


def test_a_secret_ending_in_x_is_refused_when_its_last_character_is_changed(
    api_cloud: CloudServer,
) -> None:
    """Regression: the tampering test swapped the token secret's last character
    for "x" and so, for a secret already ending in "x", signed with the right
    secret and was let in. Issues credentials until a secret ends in "x" (one
    in 62 does; bounded far above that) and changes it."""
    first = issue_oauth1(api_cloud, api_cloud.account, "readings:GET")
    body = {"application_id": first["application_id"], "name": "signed", "grants": first["grants"]}
    issued, ending = first, list[str]()
    with api_cloud.client(api_cloud.account.owner_token) as owner:
        for _ in range(500):
            ending = [
                name for name in ("token_secret", "consumer_secret") if issued[name][-1] == "x"
            ]
            if ending:
                break
            issued = owner.post("/v1/oauth1-credentials", json=body).raise_for_status().json()
        else:
            pytest.fail("no secret ended in x in 1,000")
    name = ending[0]
    assert send(signed(api_cloud, issued)).status_code == 200
    wrong = dict(issued, **{name: one_character_off(issued[name])})
    assert wrong[name] != issued[name]
    refused(send(signed(api_cloud, wrong)), "signature does not verify")


def test_a_replayed_request_is_refused(api_cloud: CloudServer, credentials: dict[str, Any]) -> None:
    request = signed(api_cloud, credentials)
    assert send(request).status_code == 200
    refused(send(request), "nonce was used before")


@pytest.fixture
def clock_offset(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Lets a test sign with a timestamp away from now (the client's clock, not the server's)."""

    def set_offset(seconds: int) -> None:
        monkeypatch.setattr(
            client_auth, "generate_timestamp", lambda: str(int(time.time()) + seconds)
        )

    yield set_offset


def test_stale_and_future_timestamps_are_refused(
    api_cloud: CloudServer, credentials: dict[str, Any], clock_offset: Any
) -> None:
    clock_offset(-301 - 5)
    refused(send(signed(api_cloud, credentials)), "oauth_timestamp")
    clock_offset(+301 + 5)
    refused(send(signed(api_cloud, credentials)), "oauth_timestamp")
    clock_offset(-60)  # within the window: fine
    assert send(signed(api_cloud, credentials)).status_code == 200


@pytest.mark.slow
def test_hmac_sha1_is_refused_unless_configured(
    api_cloud: CloudServer, credentials: dict[str, Any], tmp_path: Path
) -> None:
    refused(send(signed(api_cloud, credentials, signature_method="HMAC-SHA1")), "not accepted")
    refused(send(signed(api_cloud, credentials, signature_method="PLAINTEXT")), "not accepted")
    old = CloudServer(
        tmp_path,
        f"sqlite:///{tmp_path / 'old.db'}",
        extra_env={"EDGEWARD_CLOUD_OAUTH1_ALLOW_HMAC_SHA1": "1"},
    ).start()
    try:
        legacy = issue_oauth1(old, old.account, "readings:GET")
        assert legacy["signature_methods"] == ["HMAC-SHA256", "HMAC-SHA1"]
        assert send(signed(old, legacy, signature_method="HMAC-SHA1")).status_code == 200
        assert send(signed(old, legacy)).status_code == 200
    finally:
        old.stop()


def test_revoked_or_expired_credentials_are_refused(
    api_cloud: CloudServer, credentials: dict[str, Any]
) -> None:
    with api_cloud.client(api_cloud.account.owner_token) as owner:
        owner.delete(f"/v1/oauth1-credentials/{credentials['id']}").raise_for_status()
    refused(send(signed(api_cloud, credentials)), "missing, malformed, unknown")


def test_form_bodies_are_refused(api_cloud: CloudServer, credentials: dict[str, Any]) -> None:
    request = signed(
        api_cloud, credentials, method="POST", url="/v1/gateways", data={"name": "form"}
    )
    refused(send(request), "form-encoded")


@pytest.mark.slow
def test_every_worker_refuses_a_nonce_another_accepted(
    api_cloud: CloudServer, credentials: dict[str, Any], tmp_path: Path
) -> None:
    """Two API workers on one database, as behind a load balancer (same Host)."""
    data = api_cloud.data_dir
    second = CloudServer(
        tmp_path,
        str(api_cloud.db_url),
        extra_env={
            "EDGEWARD_CLOUD_PEPPER_FILE": str(data / "pepper"),
            "EDGEWARD_CLOUD_MASTER_KEY_FILE": str(data / "master.key"),
            "EDGEWARD_CLOUD_SIGNING_KEY_FILE": str(data / "signing.key"),
        },
    ).start()
    try:
        request = signed(api_cloud, credentials)
        assert send(request).status_code == 200
        host = request.headers["host"]
        replay = httpx.Request(
            "GET", str(request.url).replace(api_cloud.url, second.url), headers=request.headers
        )
        assert replay.headers["host"] == host
        refused(send(replay), "nonce was used before")
        fresh = signed(api_cloud, credentials)
        moved = httpx.Request(
            "GET", str(fresh.url).replace(api_cloud.url, second.url), headers=fresh.headers
        )
        assert send(moved).status_code == 200  # the second worker verifies on its own
    finally:
        second.stop()


def test_failures_are_audited_without_secrets(
    api_cloud: CloudServer, credentials: dict[str, Any]
) -> None:
    request = signed(api_cloud, credentials)
    send(request)
    send(request)
    with api_cloud.client(api_cloud.account.owner_token) as owner:
        events = owner.get("/v1/audit-events", params={"event": "auth.failed", "limit": 500})
    reasons = {e["details"].get("reason") for e in events.json()["items"]}
    assert "oauth1:invalid_nonce" in reasons
    log = Path(api_cloud.process.log_path).read_text()
    assert credentials["consumer_secret"] not in log and credentials["token_secret"] not in log
