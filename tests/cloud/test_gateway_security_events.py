"""POST /v1/ingest/security-events: a gateway's refusals become security events,
idempotent on retry, apart from the cloud's own, and only for the gateway itself."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import httpx

from edgeward.cloud.webhooks.signing import HEADER, verify
from edgeward.sync.security_events import (
    SECURITY_EVENTS_PATH,
    SecurityEvent,
    encode_security_events,
)
from tests.cloud.conftest import START, batch_body
from tests.cloud.test_ingest import post
from tests.cloud.test_webhooks import add_webhook
from tests.peers import wait_until
from tests.peers.cloud import CloudServer
from tests.peers.webhook_receiver import WebhookReceiver


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


def why(event: dict[str, Any]) -> tuple[Any, Any, Any]:
    return event["field"], event["value"], event["detail"]


def test_the_why_is_stored_and_follows_the_largest_count(api_cloud: CloudServer) -> None:
    gateway = api_cloud.add_gateway()
    source = f"probe-{gateway.id[-6:]}"
    window = START.replace(second=0)
    first = SecurityEvent(
        source, "undecodable", window, window, window, 3, "temperature", "'warm'", "not float"
    )
    assert report(api_cloud, gateway.credential, gateway.id, first).status_code == 200
    (event,) = events_of(api_cloud, source)
    assert why(event) == ("temperature", "'warm'", "not float")
    later = window + timedelta(seconds=5)
    grown = SecurityEvent(source, "undecodable", window, window, later, 9, "humidity", "'wet'")
    report(api_cloud, gateway.credential, gateway.id, grown)
    report(api_cloud, gateway.credential, gateway.id, first)  # a late retry: changes nothing
    (event,) = events_of(api_cloud, source)
    assert (event["count"], *why(event)) == (9, "humidity", "'wet'", None)


def test_an_event_without_why_and_the_clouds_own_have_nulls(api_cloud: CloudServer) -> None:
    gateway = api_cloud.add_gateway()
    source = f"plain-{gateway.id[-6:]}"
    post(api_cloud, gateway.credential, batch_body(gateway.id, source, [1]))
    window = START.replace(second=0)
    plain = SecurityEvent(source, "replay", window, window, window, 2)
    report(api_cloud, gateway.credential, gateway.id, plain)
    events = events_of(api_cloud, source)
    assert {e["reported_by"]: why(e) for e in events} == {
        "cloud": (None, None, None),
        "gateway": (None, None, None),
    }


def test_the_webhook_payload_says_why(api_cloud: CloudServer) -> None:
    gateway = api_cloud.add_gateway()
    source = f"hooked-{gateway.id[-6:]}"
    window = START.replace(second=0)
    event = SecurityEvent(source, "out-of-range", window, window, window, 1, "t", "99.5", "hot")
    with WebhookReceiver() as receiver:
        webhook = add_webhook(api_cloud, receiver.url)
        report(api_cloud, gateway.credential, gateway.id, event)
        wait_until(lambda: any(source.encode() in r.body for r in receiver.received), "delivery")
    (call,) = [r for r in receiver.received if source.encode() in r.body]
    assert verify(call.headers[HEADER], bytes.fromhex(webhook["secret"]), call.body)
    delivered = json.loads(call.body)
    assert (delivered["reason"], *why(delivered)) == ("out-of-range", "t", "99.5", "hot")
