"""Connections to stand-in vendors: connect -> proxy -> refresh, quirks, failures, at rest."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.cloud.raw_storage import holds, raw_storage
from tests.peers import wait_until
from tests.peers.cloud import CloudServer
from tests.peers.vendors import OAuth1Provider, OAuth2Provider, Quirks
from tests.peers.webhook_receiver import WebhookReceiver

CLIENT_SECRET = "vendor-client-secret-" + secrets.token_hex(8)


@pytest.fixture
def provider(request: pytest.FixtureRequest) -> Iterator[OAuth2Provider]:
    quirks = getattr(request, "param", None) or Quirks()
    with OAuth2Provider("edgeward-client", CLIENT_SECRET, quirks) as vendor:
        yield vendor


def owner(cloud: CloudServer) -> httpx.Client:
    return cloud.client(cloud.account.owner_token)


def add_vendor(cloud: CloudServer, provider: OAuth2Provider, **overrides: Any) -> str:
    quirks = provider.quirks
    body = {
        "name": f"v-{secrets.token_hex(4)}",
        "client_id": "edgeward-client",
        "client_secret": CLIENT_SECRET,
        "authorize_url": f"{provider.url}/authorize",
        "token_url": f"{provider.url}/token",
        "api_base_url": provider.url,
        "pkce": quirks.pkce,
        "client_auth": quirks.client_auth,
        "instance_url_field": "instance_url" if quirks.instance_url else None,
        "long_lived_exchange": quirks.long_lived,
        **overrides,
    }
    with owner(cloud) as client:
        response = client.post("/v1/vendors", json={k: v for k, v in body.items() if v is not None})
    assert response.status_code == 201, response.text
    assert CLIENT_SECRET not in response.text
    return str(response.json()["id"])


def start(cloud: CloudServer, vendor_id: str, scopes: list[str]) -> dict[str, Any]:
    with owner(cloud) as client:
        response = client.post("/v1/connections", json={"vendor_id": vendor_id, "scopes": scopes})
    assert response.status_code == 201, response.text
    return dict(response.json())


def follow(started: dict[str, Any]) -> httpx.Response:
    """The user's browser: to the vendor, and back to the cloud's callback."""
    at_vendor = httpx.get(started["authorize_url"])
    assert at_vendor.status_code == 302
    return httpx.get(at_vendor.headers["location"])


def connect(cloud: CloudServer, provider: OAuth2Provider, scopes: list[str], **vendor: Any) -> str:
    done = follow(start(cloud, add_vendor(cloud, provider, **vendor), scopes))
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "connected"
    return str(done.json()["id"])


def proxied(cloud: CloudServer, connection_id: str, path: str = "/api/items") -> httpx.Response:
    with cloud.client(cloud.token_with("proxy:GET")) as client:
        return client.get(f"/v1/proxy/connections/{connection_id}{path}")


def expire(cloud: CloudServer, connection_id: str) -> None:
    """The stored access token's expiry moved into the past, as time would."""
    _, database = cloud._open_storage()
    with database.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE connections SET expires_us = 1 WHERE id = :id"), {"id": connection_id}
        )


SALESFORCE = Quirks(
    client_auth="client_secret_post", pkce=True, instance_url=True, omit_refresh_token=True,
    first_expires_in=0,
)  # fmt: skip


@pytest.mark.parametrize("provider", [SALESFORCE], indirect=True)
def test_connect_proxy_refresh_salesforce_like(
    api_cloud: CloudServer, provider: OAuth2Provider
) -> None:
    connection_id = connect(
        api_cloud, provider, ["api", "refresh_token"], extra_authorize_params={"prompt": "login"}
    )
    (asked,) = provider.authorize_params
    assert asked["scope"] == "api refresh_token" and asked["prompt"] == "login"
    assert asked["code_challenge_method"] == "S256" and asked["redirect_uri"].startswith(
        api_cloud.url
    )
    with owner(api_cloud) as client:
        shown = client.get(f"/v1/connections/{connection_id}").json()
    assert shown["api_base_url"] == f"{provider.url}/instance"
    # The first token came with expires_in=0: the first call refreshes, then goes to the
    # instance URL with the new token.
    response = proxied(api_cloud, connection_id)
    assert response.status_code == 200, response.text
    assert response.json()["path"] == "/instance/api/items"
    assert provider.refreshes == 1
    # The vendor sent no new refresh token: the old one is kept and works again.
    expire(api_cloud, connection_id)
    again = proxied(api_cloud, connection_id)
    assert again.status_code == 200, again.text and provider.refreshes == 2
    assert again.json()["token"] != response.json()["token"]
    # Nothing of it at rest or in the log.
    raw = raw_storage(api_cloud)
    log = (api_cloud.root / "cloud.log").read_bytes()
    for token in [*provider.issued, CLIENT_SECRET]:
        assert not holds(raw, token) and token.encode() not in log


@pytest.mark.parametrize(
    "provider",
    [Quirks(client_auth="client_secret_post", pkce=False, long_lived=True)],
    indirect=True,
)
def test_facebook_like_long_lived_token_and_comma_scopes(
    api_cloud: CloudServer, provider: OAuth2Provider
) -> None:
    connection_id = connect(api_cloud, provider, ["email", "pages_show_list"], scope_separator=",")
    (asked,) = provider.authorize_params
    assert asked["scope"] == "email,pages_show_list" and "code_challenge" not in asked
    assert provider.exchanges == 1
    response = proxied(api_cloud, connection_id)
    assert response.status_code == 200, response.text
    assert response.json()["token"] == provider.issued[-1]  # the long-lived one
    with owner(api_cloud) as client:
        expires = client.get(f"/v1/connections/{connection_id}").json()["expires"]
    assert expires is not None and provider.refreshes == 0
    # A master-key rotation re-wraps the connection's tokens; the worker still opens them.
    assert int(api_cloud.admin("rotate-master-key")["rewrapped"]) >= 2
    assert proxied(api_cloud, connection_id).json()["token"] == provider.issued[-1]


@pytest.mark.parametrize("provider", [Quirks(first_expires_in=0)], indirect=True)
def test_parallel_calls_during_expiry_refresh_once(
    api_cloud: CloudServer, provider: OAuth2Provider
) -> None:
    connection_id = connect(api_cloud, provider, ["read"])
    provider.hold_refresh.clear()  # the vendor sits on the refresh until all calls are in
    token = api_cloud.token_with("proxy:GET")
    answers: list[int] = []

    def call() -> None:
        with api_cloud.client(token, timeout=60) as client:
            answers.append(client.get(f"/v1/proxy/connections/{connection_id}/api/x").status_code)

    threads = [threading.Thread(target=call) for _ in range(16)]
    for thread in threads:
        thread.start()
    wait_until(lambda: provider.refreshes >= 1, "the first refresh at the vendor")
    provider.hold_refresh.set()
    for thread in threads:
        thread.join(60)
    assert answers == [200] * 16
    assert provider.refreshes == 1


@pytest.mark.parametrize("provider", [Quirks(first_expires_in=0)], indirect=True)
@pytest.mark.slow
def test_two_workers_refresh_once(
    api_cloud: CloudServer, provider: OAuth2Provider, tmp_path: Path
) -> None:
    """Two cloud processes on one database, as behind a load balancer: still one refresh."""
    shared = {
        "EDGEWARD_CLOUD_PEPPER_FILE": "pepper",
        "EDGEWARD_CLOUD_KEYCHAIN_KEY_FILE": "keychain.keys",
        "EDGEWARD_CLOUD_MASTER_KEY_FILE": "master.key",
        "EDGEWARD_CLOUD_SIGNING_KEY_FILE": "signing.key",
    }
    env = {name: str(api_cloud.data_dir / file) for name, file in shared.items()}
    second = CloudServer(tmp_path, api_cloud.db_url or "", extra_env=env).start()
    try:
        connection_id = connect(api_cloud, provider, ["read"])
        provider.hold_refresh.clear()
        token = api_cloud.token_with("proxy:GET")
        answers: list[int] = []

        def call(worker: CloudServer) -> None:
            with worker.client(token, timeout=60) as client:
                path = f"/v1/proxy/connections/{connection_id}/api/x"
                answers.append(client.get(path).status_code)

        workers = [api_cloud, second] * 8
        threads = [threading.Thread(target=call, args=(worker,)) for worker in workers]
        for thread in threads:
            thread.start()
        wait_until(lambda: provider.refreshes >= 1, "the first refresh at the vendor")
        provider.hold_refresh.set()
        for thread in threads:
            thread.join(60)
    finally:
        second.stop()
    assert answers == [200] * 16
    assert provider.refreshes == 1


@pytest.mark.parametrize("provider", [Quirks(token_hangs=True)], indirect=True)
@pytest.mark.slow
def test_a_vendor_that_hangs_at_the_token_endpoint_is_a_504(
    provider: OAuth2Provider, tmp_path: Path
) -> None:
    env = {"EDGEWARD_CLOUD_PROXY_TIMEOUT_S": "1"}
    cloud = CloudServer(tmp_path, f"sqlite:///{tmp_path / 'c.db'}", extra_env=env).start()
    try:
        started = start(cloud, add_vendor(cloud, provider), ["read"])
        failed = follow(started)
        assert failed.status_code == 504, failed.text
        assert failed.json()["error"]["code"] == "gateway_timeout"
        with owner(cloud) as client:
            assert client.get(f"/v1/connections/{started['id']}").json()["status"] == "pending"
    finally:
        cloud.stop()


@pytest.mark.parametrize(
    "provider", [Quirks(first_expires_in=0, refresh_fails=True)], indirect=True
)
def test_a_refresh_refused_for_good_breaks_the_connection_and_calls_the_webhook(
    api_cloud: CloudServer, provider: OAuth2Provider
) -> None:
    with WebhookReceiver() as receiver:
        with owner(api_cloud) as client:
            client.post("/v1/webhooks", json={"url": receiver.url}).raise_for_status()
        connection_id = connect(api_cloud, provider, ["read"])
        response = proxied(api_cloud, connection_id)
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "connection_broken"
        assert "invalid_grant" in response.json()["error"]["message"]
        wait_until(
            lambda: any(connection_id.encode() in r.body for r in receiver.received), "webhook"
        )
    (event,) = [json.loads(r.body) for r in receiver.received if connection_id.encode() in r.body]
    assert event["type"] == "connection_broken" and "invalid_grant" in event["reason"]
    with owner(api_cloud) as client:
        shown = client.get(f"/v1/connections/{connection_id}").json()
    assert shown["status"] == "broken"
    assert proxied(api_cloud, connection_id).status_code == 409
    assert provider.refreshes == 1  # broken: no more attempts


def test_callback_refusals(api_cloud: CloudServer, provider: OAuth2Provider) -> None:
    vendor_id = add_vendor(api_cloud, provider)
    started = start(api_cloud, vendor_id, ["read"])
    at_vendor = httpx.get(started["authorize_url"]).headers["location"]
    forged = at_vendor.split("state=")[0] + "state=forged"
    refused = httpx.get(forged)
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "state"
    assert httpx.get(at_vendor).status_code == 200
    replayed = httpx.get(at_vendor)  # the state is single use
    assert replayed.status_code == 400 and replayed.json()["error"]["field"] == "state"


@pytest.mark.parametrize("provider", [Quirks(deny=True)], indirect=True)
def test_the_user_saying_no_fails_the_connection(
    api_cloud: CloudServer, provider: OAuth2Provider
) -> None:
    started = start(api_cloud, add_vendor(api_cloud, provider), ["read"])
    refused = follow(started)
    assert refused.status_code == 400 and "access_denied" in refused.json()["error"]["message"]
    with owner(api_cloud) as client:
        assert client.get(f"/v1/connections/{started['id']}").json()["status"] == "failed"


@pytest.mark.parametrize("provider", [Quirks(token_error_page=True)], indirect=True)
def test_a_vendor_error_page_stores_nothing(
    api_cloud: CloudServer, provider: OAuth2Provider
) -> None:
    started = start(api_cloud, add_vendor(api_cloud, provider), ["read"])
    failed = follow(started)
    assert failed.status_code == 502 and failed.json()["error"]["code"] == "bad_gateway"
    assert "not a JSON object" in failed.json()["error"]["message"]
    with owner(api_cloud) as client:
        assert client.get(f"/v1/connections/{started['id']}").json()["status"] == "pending"


def test_bad_vendors_and_connections(api_cloud: CloudServer, provider: OAuth2Provider) -> None:
    with owner(api_cloud) as client:
        unknown = client.post("/v1/connections", json={"vendor_id": "vnd-nope"})
        assert unknown.status_code == 404
        base = {"name": "x", "client_id": "c", "client_secret": "s"}
        for extra, field in [
            ({"template": "myspace"}, "template"),
            ({"authorize_url": "ftp://x", "token_url": "https://t.example"}, "authorize_url"),
            ({"template": "google", "client_auth": "private_key_jwt"}, "client_auth"),
            ({"authorize_url": "https://a.example"}, "token_url"),
            ({"template": "evernote", "api_base_url": "http://notes.example"}, "api_base_url"),
            ({"protocol": "oauth3"}, "protocol"),
        ]:
            response = client.post("/v1/vendors", json={**base, **extra})
            assert response.status_code == 422, (extra, response.text)
            assert response.json()["error"]["field"] == field
        google = client.post(
            "/v1/vendors", json={**base, "name": f"g{secrets.token_hex(3)}", "template": "google"}
        )
        assert google.json()["extra_authorize_params"]["access_type"] == "offline"
    with api_cloud.client(api_cloud.token_with("proxy:GET")) as app:
        missing = app.get("/v1/proxy/connections/con-nope/api")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


@pytest.fixture
def evernote() -> Iterator[OAuth1Provider]:
    with OAuth1Provider("edgeward-consumer", CLIENT_SECRET) as vendor:
        yield vendor


def test_oauth1_connect_and_signed_proxy_calls(
    api_cloud: CloudServer, evernote: OAuth1Provider
) -> None:
    body = {
        "name": f"evernote-{secrets.token_hex(3)}",
        "template": "evernote",
        "client_id": "edgeward-consumer",
        "client_secret": CLIENT_SECRET,
        "request_token_url": f"{evernote.url}/oauth1/request_token",
        "authorize_url": f"{evernote.url}/oauth1/authorize",
        "access_token_url": f"{evernote.url}/oauth1/access_token",
        "api_base_url": f"{evernote.url}/oauth1",
    }
    with owner(api_cloud) as client:
        vendor = client.post("/v1/vendors", json=body)
        assert vendor.status_code == 201 and vendor.json()["protocol"] == "oauth1"
    started = start(api_cloud, vendor.json()["id"], [])
    done = follow(started)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "connected" and evernote.bad_signatures == 0
    for path in ("/api/notes", "/api/notes?limit=5"):
        response = proxied(api_cloud, done.json()["id"], path)
        assert response.status_code == 200, response.text
        assert response.json()["token"] in evernote.access
    raw = raw_storage(api_cloud)
    for token in evernote.issued:
        assert not holds(raw, token)
