"""Remote gateway settings at the real cloud, on SQLite and PostgreSQL: versions, the
shared validator's refusals, the signed document a gateway pulls (304 when unchanged),
reports of what the gateway runs, and who may do what."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from edgeward.sync.registry import SIGNATURE_HEADER, SpecError
from edgeward.sync.remote_settings import SettingsReport, encode_report, verify_settings
from tests.peers.cloud import CloudServer, RegisteredGateway


def settings_path(gateway: RegisteredGateway) -> str:
    return f"/v1/gateways/{gateway.id}/settings"


def put(cloud: CloudServer, gateway: RegisteredGateway, overlay: Any) -> httpx.Response:
    with cloud.client(cloud.account.owner_token) as owner:
        return owner.put(settings_path(gateway), json={"settings": overlay})


def public_key(cloud: CloudServer) -> str:
    with cloud.client() as client:
        return str(client.get("/v1/registry/public-key").json()["public_key"])


def pull(cloud: CloudServer, gateway: RegisteredGateway, etag: str | None = None) -> httpx.Response:
    with cloud.client(gateway.credential) as client:
        return client.get("/v1/registry/settings", headers={"If-None-Match": etag} if etag else {})


def test_a_change_makes_a_version_and_an_unchanged_put_does_not(api_cloud: CloudServer) -> None:
    gateway = api_cloud.add_gateway()
    with api_cloud.client(api_cloud.account.owner_token) as owner:
        assert owner.get(settings_path(gateway)).json()["version"] == 0
    first = put(api_cloud, gateway, {"uplink": {"batch_max_readings": 200}})
    assert first.status_code == 200, first.text
    assert first.json()["version"] == 1
    assert first.json()["settings"] == {"uplink": {"batch_max_readings": 200}}
    assert put(api_cloud, gateway, {"uplink": {"batch_max_readings": 200}}).json()["version"] == 1
    second = put(api_cloud, gateway, {"outbox": {"full_policy": "stop_reading"}}).json()
    assert second["version"] == 2
    assert second["settings"] == {"outbox": {"full_policy": "stop_reading"}}, "a PUT replaces"
    with api_cloud.client(api_cloud.account.owner_token) as owner:
        audit = owner.get(
            "/v1/audit-events", params={"event": "gateway.settings_changed", "limit": 1000}
        ).json()["items"]
    mine = [event for event in audit if event["target"] == gateway.id]
    assert len(mine) == 2, "one audit entry per change, none for the unchanged PUT"


@pytest.mark.parametrize(
    ("overlay", "field", "message"),
    [
        (
            {"uplink": {"batch_max_readings": 0}},
            "settings.uplink.batch_max_readings",
            "expected an integer from 1 to 10000, found 0",
        ),
        ({"cloud": {"url": "http://evil.example"}}, "settings.cloud", "not remotely settable"),
        ({"uplink": {"batch_max_readingz": 5}}, "settings.uplink.batch_max_readingz", "settable"),
        (
            {"outbox": {"full_policy": "keep_all"}},
            "settings.outbox.full_policy",
            "expected one of 'drop_oldest', 'stop_reading'",
        ),
        ({"uplink": {"compress": "yes"}}, "settings.uplink.compress", "true or false"),
        ({"log": "debug"}, "settings.log", "expected an object"),
    ],
)
def test_bad_settings_are_refused_whole_and_named(
    api_cloud: CloudServer, overlay: Any, field: str, message: str
) -> None:
    gateway = api_cloud.add_gateway()
    assert put(api_cloud, gateway, {"uplink": {"timeout": 5}}).json()["version"] == 1
    response = put(api_cloud, gateway, {**overlay, "health": {"status_interval": 2}})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["field"] == field
    assert message in error["message"]
    with api_cloud.client(api_cloud.account.owner_token) as owner:
        kept = owner.get(settings_path(gateway)).json()
    assert (kept["version"], kept["settings"]) == (1, {"uplink": {"timeout": 5}}), "nothing stored"


def test_the_gateway_pulls_its_settings_signed_and_304_when_unchanged(
    api_cloud: CloudServer,
) -> None:
    gateway = api_cloud.add_gateway()
    put(api_cloud, gateway, {"outbox": {"max_bytes": 2 * 1024 * 1024}})
    first = pull(api_cloud, gateway)
    assert first.status_code == 200, first.text
    signature = first.headers[SIGNATURE_HEADER].removeprefix("ed25519=")
    document = verify_settings(first.content, signature, public_key(api_cloud))
    assert (document.gateway_id, document.settings_version) == (gateway.id, 1)
    assert document.overlay == {"outbox": {"max_bytes": 2 * 1024 * 1024}}
    assert pull(api_cloud, gateway, first.headers["ETag"]).status_code == 304
    put(api_cloud, gateway, {"outbox": {"max_bytes": 3 * 1024 * 1024}})
    changed = pull(api_cloud, gateway, first.headers["ETag"])
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    tampered = changed.content.replace(b"3145728", b"9145728")
    signature = changed.headers[SIGNATURE_HEADER].removeprefix("ed25519=")
    with pytest.raises(SpecError):
        verify_settings(tampered, signature, public_key(api_cloud))


def test_a_gateway_without_settings_pulls_version_0(api_cloud: CloudServer) -> None:
    gateway = api_cloud.add_gateway()
    response = pull(api_cloud, gateway)
    signature = response.headers[SIGNATURE_HEADER].removeprefix("ed25519=")
    document = verify_settings(response.content, signature, public_key(api_cloud))
    assert (document.settings_version, document.overlay) == (0, {})


def test_reports_show_applied_next_to_desired(api_cloud: CloudServer) -> None:
    gateway = api_cloud.add_gateway()
    put(api_cloud, gateway, {"uplink": {"timeout": 5}})
    put(api_cloud, gateway, {"uplink": {"timeout": 6}})
    report = SettingsReport(gateway.id, 1, 2, "uplink.timeout: expected ...")
    with api_cloud.client(gateway.credential) as client:
        response = client.post(
            "/v1/ingest/settings-report",
            content=encode_report(report),
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 200, response.text
        other = api_cloud.add_gateway()
        forged = client.post(
            "/v1/ingest/settings-report",
            content=encode_report(SettingsReport(other.id, 7)),
            headers={"Content-Type": "application/json"},
        )
        assert forged.status_code == 403
        junk = client.post("/v1/ingest/settings-report", content=b'{"format": "nope"}')
        assert junk.status_code == 422 and junk.json()["error"]["field"] == "format"
    with api_cloud.client(api_cloud.account.owner_token) as owner:
        shown = owner.get(settings_path(gateway)).json()
    assert (shown["version"], shown["applied_version"], shown["refused_version"]) == (2, 1, 2)
    assert shown["refused_error"] == "uplink.timeout: expected ..."


def test_gateways_cannot_set_settings_and_users_cannot_pull_them(api_cloud: CloudServer) -> None:
    gateway = api_cloud.add_gateway()
    with api_cloud.client(gateway.credential) as client:
        response = client.put(settings_path(gateway), json={"settings": {}})
    assert response.status_code == 403
    with api_cloud.client(api_cloud.account.owner_token) as owner:
        assert owner.get("/v1/registry/settings").status_code == 403
    reader = api_cloud.token_with("gateways:GET")
    with api_cloud.client(reader) as client:
        assert client.get(settings_path(gateway)).status_code == 200
        assert client.put(settings_path(gateway), json={"settings": {}}).status_code == 403
