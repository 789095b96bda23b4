"""OAuth 2 against the served cloud: full flows through the consent page, and the
negative cases, each with its RFC 6749 section 5.2 error and nothing granted."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from edgeward.cloud.storage.schema import oauth_codes
from tests.cloud.oauth import (
    CALLBACK,
    Client,
    approve,
    authorize_params,
    code_for,
    exchange,
    pkce,
    redirect_params,
    register_client,
    token_request,
)
from tests.peers.cloud import CloudServer

READ = "readings:GET"


def works(cloud: CloudServer, token: str) -> int:
    with cloud.client(token) as app:
        return app.get("/v1/readings").status_code


def audit_events(cloud: CloudServer, event: str) -> list[dict[str, Any]]:
    with cloud.client(cloud.account.owner_token) as owner:
        page = owner.get("/v1/audit-events", params={"event": event, "limit": 200})
    return list(page.raise_for_status().json()["items"])


def granted_rows(html: str) -> list[tuple[str, str]]:
    return re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td></tr>", html)


def test_metadata_names_every_endpoint(api_cloud: CloudServer) -> None:
    with api_cloud.client() as anonymous:
        document = anonymous.get("/.well-known/oauth-authorization-server").json()
    assert document["issuer"] == api_cloud.url
    assert document["token_endpoint"] == f"{api_cloud.url}/oauth2/token"
    assert document["revocation_endpoint"] == f"{api_cloud.url}/oauth2/revoke"
    assert document["introspection_endpoint"] == f"{api_cloud.url}/oauth2/introspect"
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert "readings:GET" in document["scopes_supported"]
    assert "ingest:POST" not in document["scopes_supported"]


def test_authorization_code_flow_through_the_consent_page(api_cloud: CloudServer) -> None:
    client = register_client(api_cloud, api_cloud.account, [READ, "gateways:GET,POST"])
    verifier, challenge = pkce()
    params = authorize_params(client, "readings:GET gateways:POST", challenge)
    with api_cloud.client() as browser:
        page = browser.get("/oauth2/authorize", params=params)
    assert page.status_code == 200
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert granted_rows(page.text) == [("gateways", "create (POST)"), ("readings", "read (GET)")]
    assert "name=credential" in page.text and CALLBACK in page.text

    # The browser's way in: the user's own token typed into the page.
    answer = approve(api_cloud, None, params, credential=api_cloud.account.owner_token)
    returned = redirect_params(answer)
    assert returned["state"] == "st-1"
    tokens = exchange(api_cloud, client, returned["code"], verifier)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "gateways:POST readings:GET"
    assert tokens.headers["cache-control"] == "no-store"

    assert works(api_cloud, body["access_token"]) == 200
    with api_cloud.client(body["access_token"]) as app:
        assert app.get("/v1/gateways").status_code == 403  # GET was not in the scope
        assert app.post("/v1/gateways", json={"name": "via-oauth"}).status_code == 201
    with api_cloud.client(api_cloud.account.owner_token) as owner:
        listed = owner.get("/v1/tokens").json()["items"]
    (row,) = [t for t in listed if body["access_token"].startswith(t["prefix"])]
    assert row["owner"] == {"kind": "user", "id": api_cloud.account.owner_id}
    assert row["grants"] == {"gateways": ["POST"], "readings": ["GET"]}
    assert audit_events(api_cloud, "oauth2.consent.granted")
    issued = audit_events(api_cloud, "oauth2.token.issued")
    assert any(event["target"] == row["id"] for event in issued)


def test_consent_signed_in_by_bearer_header_shows_who(api_cloud: CloudServer) -> None:
    client = register_client(api_cloud, api_cloud.account, [READ])
    _, challenge = pkce()
    with api_cloud.client(api_cloud.account.owner_token) as browser:
        page = browser.get("/oauth2/authorize", params=authorize_params(client, READ, challenge))
    assert page.status_code == 200
    assert "Signed in as" in page.text and "name=credential" not in page.text


def test_deny_redirects_access_denied_and_is_audited(api_cloud: CloudServer) -> None:
    client = register_client(api_cloud, api_cloud.account, [READ])
    _, challenge = pkce()
    with api_cloud.client() as browser:
        answer = browser.post(
            "/oauth2/authorize",
            params=authorize_params(client, READ, challenge),
            data={"decision": "deny"},
        )
    returned = redirect_params(answer)
    assert (returned["error"], returned["state"]) == ("access_denied", "st-1")
    assert "code" not in returned
    assert any(e["target"] == client.id for e in audit_events(api_cloud, "oauth2.consent.denied"))


def test_wrong_redirect_uri_never_redirects(api_cloud: CloudServer) -> None:
    client = register_client(api_cloud, api_cloud.account, [READ])
    _, challenge = pkce()
    for wrong in (CALLBACK + "/evil", CALLBACK + "?x=1", "http://127.0.0.1:9/callbacK"):
        params = authorize_params(client, READ, challenge, redirect_uri=wrong)
        with api_cloud.client(api_cloud.account.owner_token) as browser:
            for response in (
                browser.get("/oauth2/authorize", params=params),
                browser.post("/oauth2/authorize", params=params, data={"decision": "approve"}),
            ):
                assert response.status_code == 400, wrong
                assert "location" not in response.headers
                assert "<code id=error>invalid_request</code>" in response.text
    failures = audit_events(api_cloud, "oauth2.failed")
    assert any(
        e["details"]["endpoint"] == "authorize" and e["actor"] == f"client:{client.id}"
        for e in failures
    )
    unknown = Client("ocl-000000000000", None, "")
    with api_cloud.client() as browser:
        response = browser.get("/oauth2/authorize", params=authorize_params(unknown, READ))
    assert response.status_code == 400 and "location" not in response.headers
    assert "invalid_client" in response.text


def test_token_exchange_with_another_redirect_uri_is_invalid_grant(
    api_cloud: CloudServer,
) -> None:
    client = register_client(
        api_cloud, api_cloud.account, [READ], redirect_uris=(CALLBACK, CALLBACK + "2")
    )
    code, verifier = code_for(api_cloud, api_cloud.account.owner_token, client, READ)
    response = token_request(
        api_cloud,
        client,
        grant_type="authorization_code",
        code=code,
        redirect_uri=CALLBACK + "2",
        code_verifier=verifier,
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


def test_public_client_needs_pkce_s256(api_cloud: CloudServer) -> None:
    client = register_client(api_cloud, api_cloud.account, [READ], public=True)
    assert client.secret is None
    owner = api_cloud.account.owner_token
    no_challenge = approve(api_cloud, owner, authorize_params(client, READ))
    assert redirect_params(no_challenge)["error"] == "invalid_request"
    plain = authorize_params(client, READ) | {
        "code_challenge": "a" * 43,
        "code_challenge_method": "plain",
    }
    assert redirect_params(approve(api_cloud, owner, plain))["error"] == "invalid_request"

    code, verifier = code_for(api_cloud, owner, client, READ)
    wrong = exchange(api_cloud, client, code, pkce()[0])
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
    # The code was spent by the failed attempt: single use, whatever the outcome.
    assert exchange(api_cloud, client, code, verifier).json()["error"] == "invalid_grant"

    code, verifier = code_for(api_cloud, owner, client, READ)
    missing = token_request(
        api_cloud, client, grant_type="authorization_code", code=code, redirect_uri=CALLBACK
    )
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")

    code, verifier = code_for(api_cloud, owner, client, READ)
    good = exchange(api_cloud, client, code, verifier)
    assert good.status_code == 200, good.text
    assert works(api_cloud, good.json()["access_token"]) == 200


def test_reused_code_is_refused_and_revokes_what_it_gave(api_cloud: CloudServer) -> None:
    client = register_client(api_cloud, api_cloud.account, [READ])
    code, verifier = code_for(api_cloud, api_cloud.account.owner_token, client, READ)
    first = exchange(api_cloud, client, code, verifier).json()
    assert works(api_cloud, first["access_token"]) == 200
    again = exchange(api_cloud, client, code, verifier)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
    assert works(api_cloud, first["access_token"]) == 401
    refresh = token_request(
        api_cloud, client, grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    assert refresh.json()["error"] == "invalid_grant"
    assert audit_events(api_cloud, "oauth2.code.reused")


def test_expired_code_is_invalid_grant(api_cloud: CloudServer) -> None:
    client = register_client(api_cloud, api_cloud.account, [READ])
    code, verifier = code_for(api_cloud, api_cloud.account.owner_token, client, READ)
    _, database = api_cloud._open_storage()
    with database.engine.begin() as connection:
        connection.execute(
            sa.update(oauth_codes).where(oauth_codes.c.client_id == client.id).values(expires_us=1)
        )
    response = exchange(api_cloud, client, code, verifier)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


def test_client_authentication_failures(api_cloud: CloudServer) -> None:
    client = register_client(api_cloud, api_cloud.account, [READ])
    assert client.secret is not None
    wrong = Client(client.id, client.secret[:-1] + ("A" if client.secret[-1] != "A" else "B"), "")
    response = token_request(api_cloud, wrong, grant_type="client_credentials")
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
    assert response.headers["www-authenticate"].startswith("Basic")
    assert "access_token" not in response.json()
    unknown = Client("ocl-000000000000", client.secret, "")
    response = token_request(api_cloud, unknown, grant_type="client_credentials")
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
    public = register_client(api_cloud, api_cloud.account, [READ], public=True)
    response = token_request(api_cloud, public, grant_type="client_credentials")
    assert response.json()["error"] in ("unauthorized_client", "invalid_client")
    assert response.status_code in (400, 401)
    response = token_request(api_cloud, client, grant_type="password", username="u", password="p")
    assert (response.status_code, response.json()["error"]) == (400, "unsupported_grant_type")
    response = token_request(
        api_cloud, client, grant_type="client_credentials", scope="readings:FETCH"
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_scope")
    response = token_request(
        api_cloud, client, grant_type="client_credentials", scope="gateways:GET"
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_scope")
    failures = audit_events(api_cloud, "oauth2.failed")
    assert {e["details"]["error"] for e in failures} >= {
        "invalid_client",
        "unsupported_grant_type",
        "invalid_scope",
    }


def test_scope_beyond_the_user_or_the_client_is_invalid_scope(api_cloud: CloudServer) -> None:
    account = api_cloud.account
    client = register_client(api_cloud, account, [READ, "data-sources:POST"])
    with api_cloud.client(account.owner_token) as owner:
        member = owner.post("/v1/users", json={"email": "m-oauth@example.com", "role": "member"})
    member_token = api_cloud.token_with(
        "readings:GET", "data-sources:GET", user_id=member.json()["id"]
    )
    _, challenge = pkce()
    params = authorize_params(client, "readings:GET data-sources:POST", challenge)
    # A member reads only: data-sources:POST is beyond them, at the page and at approval.
    with api_cloud.client(member_token) as browser:
        shown = browser.get("/oauth2/authorize", params=params)
    assert redirect_params(shown)["error"] == "invalid_scope"
    assert redirect_params(approve(api_cloud, member_token, params))["error"] == "invalid_scope"
    # Beyond what the client's application holds: refused before anyone signs in.
    beyond_client = authorize_params(client, "gateways:DELETE", challenge)
    with api_cloud.client() as browser:
        shown = browser.get("/oauth2/authorize", params=beyond_client)
    assert redirect_params(shown)["error"] == "invalid_scope"


def test_a_wrong_token_on_the_consent_page_grants_nothing(api_cloud: CloudServer) -> None:
    client = register_client(api_cloud, api_cloud.account, [READ])
    _, challenge = pkce()
    params = authorize_params(client, READ, challenge)
    answer = approve(api_cloud, None, params, credential="ewt_not-really-a-token")
    assert answer.status_code == 401 and "location" not in answer.headers
    assert "was not accepted" in answer.text
    other = api_cloud.new_account("other")
    answer = approve(api_cloud, other.owner_token, params)
    assert answer.status_code == 403 and "location" not in answer.headers


def test_refresh_rotates_and_reuse_revokes_the_family(api_cloud: CloudServer) -> None:
    client = register_client(api_cloud, api_cloud.account, [READ])
    code, verifier = code_for(api_cloud, api_cloud.account.owner_token, client, READ)
    first = exchange(api_cloud, client, code, verifier).json()
    second = token_request(
        api_cloud, client, grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    assert second.status_code == 200, second.text
    second_body = second.json()
    assert second_body["refresh_token"] != first["refresh_token"]
    assert works(api_cloud, second_body["access_token"]) == 200
    # The rotated-away refresh token comes back: someone else holds it.
    reused = token_request(
        api_cloud, client, grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
    assert works(api_cloud, first["access_token"]) == 401
    assert works(api_cloud, second_body["access_token"]) == 401
    latest = token_request(
        api_cloud, client, grant_type="refresh_token", refresh_token=second_body["refresh_token"]
    )
    assert latest.json()["error"] == "invalid_grant"
    assert audit_events(api_cloud, "oauth2.refresh.reused")
    assert audit_events(api_cloud, "oauth2.token.refreshed")


def test_refresh_with_narrower_scope_and_not_wider(api_cloud: CloudServer) -> None:
    client = register_client(api_cloud, api_cloud.account, [READ, "gateways:GET"])
    code, verifier = code_for(
        api_cloud, api_cloud.account.owner_token, client, "readings:GET gateways:GET"
    )
    first = exchange(api_cloud, client, code, verifier).json()
    wider = token_request(
        api_cloud,
        client,
        grant_type="refresh_token",
        refresh_token=first["refresh_token"],
        scope="readings:GET gateways:GET gateways:POST",
    )
    assert (wider.status_code, wider.json()["error"]) == (400, "invalid_scope")


def test_client_credentials_introspection_and_revocation(api_cloud: CloudServer) -> None:
    client = register_client(api_cloud, api_cloud.account, [READ, "gateways:GET"])
    issued = token_request(api_cloud, client, grant_type="client_credentials")
    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert body["scope"] == "gateways:GET readings:GET" and "refresh_token" not in body
    auth = httpx.BasicAuth(client.id, client.secret or "")
    with api_cloud.client() as http:
        seen = http.post("/oauth2/introspect", data={"token": body["access_token"]}, auth=auth)
        assert seen.json()["active"] is True
        assert seen.json()["sub"] == f"application:{client.application_id}"
        assert seen.json()["client_id"] == client.id
        revoked = http.post("/oauth2/revoke", data={"token": body["access_token"]}, auth=auth)
        assert revoked.status_code == 200
        seen = http.post("/oauth2/introspect", data={"token": body["access_token"]}, auth=auth)
        assert seen.json() == {"active": False}
        unknown = http.post("/oauth2/revoke", data={"token": "ewt_nothing"}, auth=auth)
        assert unknown.status_code == 200  # RFC 7009 section 2.2: no oracle
    assert works(api_cloud, body["access_token"]) == 401
    assert audit_events(api_cloud, "oauth2.token.revoked")


def test_revoking_a_refresh_token_revokes_its_family(api_cloud: CloudServer) -> None:
    client = register_client(api_cloud, api_cloud.account, [READ], public=True)
    code, verifier = code_for(api_cloud, api_cloud.account.owner_token, client, READ)
    tokens = exchange(api_cloud, client, code, verifier).json()
    with api_cloud.client() as http:
        answer = http.post(
            "/oauth2/revoke",
            data={
                "token": tokens["refresh_token"],
                "token_type_hint": "refresh_token",
                "client_id": client.id,
            },
        )
    assert answer.status_code == 200
    assert works(api_cloud, tokens["access_token"]) == 401


def test_introspection_across_accounts_says_inactive(api_cloud: CloudServer) -> None:
    mine = register_client(api_cloud, api_cloud.account, [READ])
    token = token_request(api_cloud, mine, grant_type="client_credentials").json()["access_token"]
    other = api_cloud.new_account("introspector")
    theirs = register_client(api_cloud, other, [READ])
    with api_cloud.client() as http:
        seen = http.post(
            "/oauth2/introspect",
            data={"token": token},
            auth=httpx.BasicAuth(theirs.id, theirs.secret or ""),
        )
    assert seen.json() == {"active": False}


def test_removing_a_client_revokes_its_tokens(api_cloud: CloudServer) -> None:
    client = register_client(api_cloud, api_cloud.account, [READ])
    code, verifier = code_for(api_cloud, api_cloud.account.owner_token, client, READ)
    tokens = exchange(api_cloud, client, code, verifier).json()
    with api_cloud.client(api_cloud.account.owner_token) as owner:
        assert owner.delete(f"/v1/oauth-clients/{client.id}").status_code == 204
        assert owner.get(f"/v1/oauth-clients/{client.id}").json()["revoked"] is not None
    assert works(api_cloud, tokens["access_token"]) == 401
    response = token_request(
        api_cloud, client, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


def test_client_registration_rules(api_cloud: CloudServer) -> None:
    account = api_cloud.account
    with api_cloud.client(account.owner_token) as owner:
        app = owner.post("/v1/applications", json={"name": "a", "grants": {"readings": ["GET"]}})
        app_id = app.json()["id"]
        for uris in ([], ["http://example.com/cb"], ["https://example.com/cb#frag"], ["relative"]):
            body = {"name": "c", "application_id": app_id, "redirect_uris": uris}
            answer = owner.post("/v1/oauth-clients", json=body)
            assert answer.status_code == 422, uris
        listed = owner.get("/v1/oauth-clients").json()["items"]
    assert all("client_secret" not in item for item in listed)
    narrow = api_cloud.token_with("oauth-clients:POST")
    with api_cloud.client(narrow) as limited:
        body = {"name": "c", "application_id": app_id, "redirect_uris": [CALLBACK]}
        assert limited.post("/v1/oauth-clients", json=body).status_code == 403


def test_no_oauth_secret_reaches_the_cloud_log(api_cloud: CloudServer) -> None:
    client = register_client(api_cloud, api_cloud.account, [READ])
    code, verifier = code_for(api_cloud, api_cloud.account.owner_token, client, READ)
    tokens = exchange(api_cloud, client, code, verifier).json()
    log = Path(api_cloud.process.log_path).read_text()
    for secret in (client.secret, code, tokens["access_token"], tokens["refresh_token"]):
        assert secret is not None and secret not in log


@pytest.mark.slow
def test_wrong_client_secrets_are_rate_limited(tmp_path: Path) -> None:
    cloud = CloudServer(tmp_path, f"sqlite:///{tmp_path / 'limited.db'}", auth_failure_limit=3)
    cloud.start()
    try:
        client = register_client(cloud, cloud.account, [READ])
        wrong = Client(client.id, "ews_wrong", "")
        codes = [
            token_request(cloud, wrong, grant_type="client_credentials").status_code
            for _ in range(4)
        ]
        assert codes == [401, 401, 401, 429]
        limited = token_request(cloud, client, grant_type="client_credentials")
        assert limited.status_code == 429 and "retry-after" in limited.headers
    finally:
        cloud.stop()


def test_plain_http_off_loopback_is_refused_not_a_server_error(api_cloud: CloudServer) -> None:
    """RFC 6749 section 1.6 wants TLS: a URL that is plain http to another host
    (a proxy not forwarding the scheme) is refused, as an OAuth error."""
    client = register_client(api_cloud, api_cloud.account, [READ])
    with api_cloud.client() as http:
        response = http.post(
            "/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=httpx.BasicAuth(client.id, client.secret or ""),
            headers={"Host": "cloud.example"},
        )
        assert (response.status_code, response.json()["error"]) == (400, "insecure_transport")
        page = http.get(
            "/oauth2/authorize",
            params=authorize_params(client, READ, pkce()[1]),
            headers={"Host": "cloud.example"},
        )
        assert page.status_code == 400 and "insecure_transport" in page.text


def test_narrowing_the_clients_application_narrows_its_tokens_at_once(
    api_cloud: CloudServer,
) -> None:
    account = api_cloud.account
    client = register_client(api_cloud, account, [READ, "gateways:GET"])
    code, verifier = code_for(api_cloud, account.owner_token, client, "readings:GET gateways:GET")
    tokens = exchange(api_cloud, client, code, verifier).json()
    with api_cloud.client(tokens["access_token"]) as app:
        assert app.get("/v1/gateways").status_code == 200
    app_path = f"/v1/applications/{client.application_id}"
    with api_cloud.client(account.owner_token) as owner:
        owner.put(app_path, json={"grants": {"readings": ["GET"]}}).raise_for_status()
    with api_cloud.client(tokens["access_token"]) as app:
        assert app.get("/v1/gateways").status_code == 403
    assert works(api_cloud, tokens["access_token"]) == 200
    refreshed = token_request(
        api_cloud, client, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert refreshed.json()["scope"] == "readings:GET"
    with api_cloud.client(account.owner_token) as owner:
        owner.put(app_path, json={"disabled": True}).raise_for_status()
    assert works(api_cloud, refreshed.json()["access_token"]) == 401
