"""POST /v1/ingest/security-events: a gateway's refusals become security events,
idempotent on retry, apart from the cloud's own, and only for the gateway itself."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from edgeward.sync.security_events import (
    SECURITY_EVENTS_PATH,
    SecurityEvent,
    encode_security_events,
)
from tests.cloud.conftest import START, batch_body
from tests.cloud.test_ingest import post
from tests.peers.cloud import CloudServer


def report(
    cloud: CloudServer, credential: str, gateway_id: str, *events: SecurityEvent
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {credential}", "Content-Type": "application/json"}
    with cloud.client() as client:
        body = encode_security_events(gateway_id, list(events))
        return client.post(SECURITY_EVENTS_PATH, content=body, headers=headers)


def events_of(cloud: CloudServer, source: str) -> list[dict[str, Any]]:
    token = cloud.token_with("security-events:GET")
    with cloud.client(token) as client:
        return list(client.get("/v1/security-events", params={"source": source}).json()["items"])


def test_retries_never_count_twice_and_growth_is_kept(api_cloud: CloudServer) -> None:
    gateway = api_cloud.add_gateway()
    source = f"rogue-{gateway.id[-6:]}"
    window = START.replace(second=0)
    first = SecurityEvent(source, "bad-signature", window, window, window, 40)
    for _ in range(3):  # the same report, retried
        assert report(api_cloud, gateway.credential, gateway.id, first).status_code == 200
    (event,) = events_of(api_cloud, source)
    assert (event["count"], event["reported_by"], event["gateway_id"]) == (
        40,
        "gateway",
        gateway.id,
    )
    grown = SecurityEvent(
        source, "bad-signature", window, window, window + timedelta(seconds=9), 55
    )
    report(api_cloud, gateway.credential, gateway.id, grown)
    report(api_cloud, gateway.credential, gateway.id, first)  # a late retry of the old total
    (event,) = events_of(api_cloud, source)
    assert event["count"] == 55


def test_the_clouds_own_refusals_stay_apart(api_cloud: CloudServer) -> None:
    gateway = api_cloud.add_gateway()
    source = f"both-{gateway.id[-6:]}"
    assert (
        post(api_cloud, gateway.credential, batch_body(gateway.id, source, [1, 2])).json()[
            "rejected"
        ]
        == 2
    )
    (cloud_side,) = events_of(api_cloud, source)
    window = datetime.fromisoformat(cloud_side["window_start"])
    reported = SecurityEvent(source, "unknown-source", window, window, window, 7)
    report(api_cloud, gateway.credential, gateway.id, reported)
    seen = {(e["reported_by"], e["count"]) for e in events_of(api_cloud, source)}
    assert seen == {("cloud", 2), ("gateway", 7)}


def test_a_gateway_reports_only_for_itself(api_cloud: CloudServer) -> None:
    gateway, other = api_cloud.add_gateway(), api_cloud.add_gateway()
    event = SecurityEvent("x", "replay", START, START, START, 1)
    answer = report(api_cloud, gateway.credential, other.id, event)
    assert answer.status_code == 403 and answer.json()["error"]["field"] == "gateway_id"
    token = api_cloud.token_with("security-events:GET")
    assert report(api_cloud, token, gateway.id, event).status_code in (401, 403)
    zero = SecurityEvent("x", "replay", START, START, START, 0)
    malformed = report(api_cloud, gateway.credential, gateway.id, zero)
    assert malformed.status_code == 422
    assert malformed.json()["error"]["field"] == "events[0].count"
