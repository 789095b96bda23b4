"""The proxy through the real cloud to a real echo API: substitution, refusals, SSRF, audit."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cloud.raw_storage import holds, raw_storage
from tests.peers.cloud import CloudServer
from tests.peers.vendors import EchoAPI


@pytest.fixture(scope="module")
def echo() -> Iterator[EchoAPI]:
    with EchoAPI() as api:
        yield api


def add_secret(cloud: CloudServer, positions: list[str], hosts: list[str] | None = None) -> Any:
    name, value = f"k-{secrets.token_hex(4)}", f"value-{secrets.token_hex(12)}"
    body = {"name": name, "value": value, "hosts": hosts or ["127.0.0.1"], "positions": positions}
    with cloud.client(cloud.account.owner_token) as owner:
        owner.post("/v1/keychain", json=body).raise_for_status()
    return name, value


def app(cloud: CloudServer, *grants: str) -> httpx.Client:
    return cloud.client(cloud.token_with(*(grants or ("proxy:GET,POST,PUT,DELETE",))))


def echoed(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    answer = dict(response.json())
    answer["headers"] = {k.lower(): v for k, v in answer["headers"]}
    answer["body"] = base64.b64decode(answer["body"])
    return answer


def test_values_go_where_allowed_and_nowhere_else(api_cloud: CloudServer, echo: EchoAPI) -> None:
    everywhere = ["path", "query", "headers", "body"]
    name, value = add_secret(api_cloud, everywhere)
    ref = f"[~{name}]"
    with app(api_cloud) as client:
        response = client.post(
            f"/v1/proxy/http/{echo.authority}/items/{ref}/x",
            params={"key": ref, "plain": "a b"},
            headers={
                "Edgeward-Forward-Authorization": f"Bearer {ref}",
                "X-Api-Key": ref,
                "Cookie": "edgeward-session=do-not-forward",
                "Connection": "X-Hop",
                "X-Hop": "private",
                "Content-Type": "application/json",
            },
            content=f'{{"token": "{ref}"}}'.encode(),
        )
    got = echoed(response)
    assert got["method"] == "POST" and got["path"] == f"/items/{value}/x"
    assert got["query"] == f"key={value}&plain=a+b"
    assert got["headers"]["authorization"] == f"Bearer {value}"  # the caller's never goes
    assert got["headers"]["x-api-key"] == value
    assert "cookie" not in got["headers"] and "x-hop" not in got["headers"]
    assert got["headers"]["host"] == echo.authority
    assert got["body"] == f'{{"token": "{value}"}}'.encode()
    assert response.headers["x-vendor"] == "echo"


def test_the_answer_streams_back_and_set_cookie_stays_out(
    api_cloud: CloudServer, echo: EchoAPI
) -> None:
    with app(api_cloud) as client:
        big = client.get(f"/v1/proxy/http/{echo.authority}/bytes/3000000")
        cookie = client.get(f"/v1/proxy/http/{echo.authority}/cookie")
        deleted = client.delete(f"/v1/proxy/http/{echo.authority}/things/1")
    assert big.status_code == 200 and big.content == b"x" * 3_000_000
    assert cookie.status_code == 200 and "set-cookie" not in cookie.headers
    # Regression: the proxy's shared client kept the vendor's cookie for later calls
    # (of any account).
    assert "cookie" not in echoed(deleted)["headers"]
    assert echoed(deleted)["method"] == "DELETE"


def test_verb_grants_apply_to_the_proxied_method(api_cloud: CloudServer, echo: EchoAPI) -> None:
    before = len(echo.taken())
    with app(api_cloud, "proxy:GET") as client:
        assert client.get(f"/v1/proxy/http/{echo.authority}/r").status_code == 200
        refused = client.post(f"/v1/proxy/http/{echo.authority}/w", content=b"x")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert [call.path for call in echo.taken()[before:]] == ["/r"]


def refused_before_sending(
    cloud: CloudServer, echo: EchoAPI, method: str, path: str, **options: Any
) -> dict[str, Any]:
    before = len(echo.taken())
    with app(cloud) as client:
        response = client.request(method, path, **options)
    assert 400 <= response.status_code < 500, response.text
    assert len(echo.taken()) == before, "something reached the destination"
    return {"status": response.status_code, **response.json()["error"]}


def test_a_host_not_on_the_list_gets_nothing(api_cloud: CloudServer, echo: EchoAPI) -> None:
    name, value = add_secret(api_cloud, ["headers"], hosts=["api.vendor.example"])
    error = refused_before_sending(
        api_cloud, echo, "GET", f"/v1/proxy/http/{echo.authority}/x", headers={"X-K": f"[~{name}]"}
    )
    assert (error["status"], error["code"], error["field"]) == (
        403,
        "substitution_refused",
        "headers.x-k",
    )
    assert "127.0.0.1" in error["message"] and value not in str(error)


@pytest.mark.parametrize(
    ("position", "request_options", "field"),
    [
        ("query", {"params": {"k": "REF"}}, "query"),
        ("path", {"path": "/a/REF"}, "path"),
        ("headers", {"headers": {"X-K": "REF"}}, "headers.x-k"),
    ],
)
def test_a_forbidden_position_is_refused(
    api_cloud: CloudServer,
    echo: EchoAPI,
    position: str,
    request_options: dict[str, Any],
    field: str,
) -> None:
    allowed = [p for p in ("path", "query", "headers") if p != position]
    name, _ = add_secret(api_cloud, allowed)
    ref = f"[~{name}]"
    path = request_options.get("path", "/a").replace("REF", ref)
    options = {
        key: {k: v.replace("REF", ref) for k, v in value.items()}
        for key, value in request_options.items()
        if key != "path"
    }
    error = refused_before_sending(
        api_cloud, echo, "GET", f"/v1/proxy/http/{echo.authority}{path}", **options
    )
    assert (error["code"], error["field"]) == ("substitution_refused", field)
    assert f"in the {position}" in error["message"]


def test_the_body_needs_the_secrets_opt_in(api_cloud: CloudServer, echo: EchoAPI) -> None:
    name, _ = add_secret(api_cloud, ["path", "query", "headers"])
    error = refused_before_sending(
        api_cloud, echo, "POST", f"/v1/proxy/http/{echo.authority}/b", content=f"[~{name}]"
    )
    assert (error["code"], error["field"]) == ("substitution_refused", "body")
    assert "opt-in" in error["message"]


@pytest.mark.parametrize(
    ("where", "options", "field"),
    [
        ("/x/[~bad name]", {}, "path"),
        ("/x/%5B~unterminated", {}, "path"),
        ("/x", {"params": {"k": "[~]"}}, "query"),
        ("/x", {"headers": {"X-K": "[~a"}}, "headers.x-k"),
        ("/x", {"content": b'{"k": "[~k]", "j": "[~ j]"}'}, "body"),
    ],
)
def test_malformed_references_are_refused(
    api_cloud: CloudServer, echo: EchoAPI, where: str, options: dict[str, Any], field: str
) -> None:
    error = refused_before_sending(
        api_cloud, echo, "POST", f"/v1/proxy/http/{echo.authority}{where}", **options
    )
    assert (error["status"], error["code"], error["field"]) == (422, "invalid_request", field)
    assert "malformed keychain reference" in error["message"]


def test_unknown_names_and_bad_targets(api_cloud: CloudServer, echo: EchoAPI) -> None:
    unknown = refused_before_sending(
        api_cloud, echo, "GET", f"/v1/proxy/http/{echo.authority}/x", headers={"X-K": "[~nope]"}
    )
    assert (unknown["status"], unknown["code"], unknown["field"]) == (
        404,
        "not_found",
        "headers.x-k",
    )
    name, _ = add_secret(api_cloud, ["path"])
    for target, code in [
        (f"/v1/proxy/ftp/{echo.authority}/x", "invalid_request"),
        (f"/v1/proxy/http/user@{echo.authority}/x", "invalid_request"),
        ("/v1/proxy/http/127.0.0.1:99999/x", "invalid_request"),
        (f"/v1/proxy/http/[~{name}].example/x", "substitution_refused"),
    ]:
        error = refused_before_sending(api_cloud, echo, "GET", target)
        assert (error["code"], error["field"]) == (code, "target"), target


@pytest.mark.parametrize("host", ["10.1.2.3", "169.254.169.254", "192.168.1.1"])
def test_private_destinations_are_refused(api_cloud: CloudServer, host: str) -> None:
    """The test cloud allows loopback only; every other private network stays closed."""
    with app(api_cloud) as client:
        response = client.get(f"/v1/proxy/http/{host}/latest/meta-data")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "destination_refused"


def test_redirects_come_back_unfollowed(api_cloud: CloudServer, echo: EchoAPI) -> None:
    before = len(echo.taken())
    with app(api_cloud) as client:
        response = client.get(
            f"/v1/proxy/http/{echo.authority}/redirect",
            params={"to": "http://169.254.169.254/latest"},
        )
    assert response.status_code == 302
    assert response.headers["location"] == "http://169.254.169.254/latest"
    assert [call.path for call in echo.taken()[before:]] == ["/redirect"]


def test_audit_records_an_hmac_never_the_value(api_cloud: CloudServer, echo: EchoAPI) -> None:
    name, value = add_secret(api_cloud, ["headers"])
    with app(api_cloud) as client:
        echoed(client.get(f"/v1/proxy/http/{echo.authority}/a", headers={"X-K": f"[~{name}]"}))
    with api_cloud.client(api_cloud.account.owner_token) as owner:
        page = owner.get("/v1/audit-events", params={"event": "proxy.call", "limit": 200})
    assert value not in page.text
    (event,) = [e for e in page.json()["items"] if name in str(e["details"])]
    pepper = api_cloud._open_storage()[0].pepper
    expected = hmac.new(pepper, b"keychain-audit:" + value.encode(), hashlib.sha256).hexdigest()
    assert event["target"] == "127.0.0.1"
    assert event["details"]["secrets"] == [
        {"name": name, "version": 1, "positions": ["headers"], "value_hmac": expected}
    ]
    assert (event["details"]["method"], event["details"]["status"]) == ("GET", 200)


def test_values_stay_out_of_storage_and_logs(api_cloud: CloudServer, echo: EchoAPI) -> None:
    name, value = add_secret(api_cloud, ["path", "headers"])
    with app(api_cloud) as client:
        echoed(client.get(f"/v1/proxy/http/{echo.authority}/p/[~{name}]"))
        # Failures too: a destination that refuses connections, and a refused position.
        closed = client.get(f"/v1/proxy/http/127.0.0.1:1/p/[~{name}]")
        assert closed.status_code == 502 and value not in closed.text
        assert closed.json()["error"]["code"] == "bad_gateway"
        client.get(f"/v1/proxy/http/{echo.authority}/p", params={"k": f"[~{name}]"})
    assert not holds(raw_storage(api_cloud), value)
    log = (api_cloud.root / "cloud.log").read_bytes()
    assert log, "the cloud's log is captured"
    assert value.encode() not in log


@pytest.fixture
def guarded_cloud(tmp_path: Path) -> Iterator[CloudServer]:
    """A cloud as deployed by default (no private destinations), with a short timeout."""
    env = {"EDGEWARD_CLOUD_PROXY_ALLOW_NETWORKS": "", "EDGEWARD_CLOUD_PROXY_TIMEOUT_S": "1"}
    server = CloudServer(tmp_path, f"sqlite:///{tmp_path / 'c.db'}", extra_env=env).start()
    try:
        yield server
    finally:
        server.stop()


def test_loopback_is_refused_unless_allowed(guarded_cloud: CloudServer, echo: EchoAPI) -> None:
    name, value = add_secret(guarded_cloud, ["headers"])
    error = refused_before_sending(
        guarded_cloud,
        echo,
        "GET",
        f"/v1/proxy/http/{echo.authority}/x",
        headers={"X-K": f"[~{name}]"},
    )
    assert (error["status"], error["code"]) == (403, "destination_refused")
    assert value not in str(error)


@pytest.mark.slow
def test_a_vendor_that_hangs_is_a_504(tmp_path: Path, echo: EchoAPI) -> None:
    env = {"EDGEWARD_CLOUD_PROXY_TIMEOUT_S": "1"}
    with_timeout = CloudServer(tmp_path, f"sqlite:///{tmp_path / 'c.db'}", extra_env=env).start()
    try:
        with app(with_timeout) as client:
            response = client.get(f"/v1/proxy/http/{echo.authority}/hang")
    finally:
        with_timeout.stop()
    assert response.status_code == 504
    assert response.json()["error"] == {
        "code": "gateway_timeout",
        "message": "127.0.0.1 did not answer in time",
    }
