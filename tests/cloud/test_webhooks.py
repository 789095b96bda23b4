"""Security events pushed to a real HTTP receiver: signed, retried, logged, bounded."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edgeward.cloud.webhooks.signing import HEADER, verify
from tests.cloud.conftest import batch_body
from tests.cloud.test_ingest import post
from tests.peers import wait_until
from tests.peers.cloud import CloudServer, RegisteredGateway
from tests.peers.webhook_receiver import WebhookReceiver


def add_webhook(cloud: CloudServer, url: str) -> dict[str, Any]:
    with cloud.client(cloud.account.owner_token) as owner:
        response = owner.post("/v1/webhooks", json={"url": url})
    assert response.status_code == 201, response.text
    return dict(response.json())


def deliveries(cloud: CloudServer, webhook_id: str) -> list[dict[str, Any]]:
    with cloud.client(cloud.account.owner_token) as owner:
        return list(owner.get(f"/v1/webhooks/{webhook_id}/deliveries").json()["items"])


def send_rogue(cloud: CloudServer, gateway: RegisteredGateway, source: str, seqs: range) -> None:
    ack = post(cloud, gateway.credential, batch_body(gateway.id, source, seqs)).json()
    assert ack["rejected"] == len(seqs)


@pytest.fixture
def gateway(api_cloud: CloudServer) -> RegisteredGateway:
    return api_cloud.add_gateway()


def test_a_security_event_reaches_the_receiver_signed(
    api_cloud: CloudServer, gateway: RegisteredGateway
) -> None:
    with WebhookReceiver() as receiver:
        webhook = add_webhook(api_cloud, receiver.url)
        with api_cloud.client(api_cloud.account.owner_token) as owner:
            listed = owner.get("/v1/webhooks").text
        assert webhook["secret"] not in listed
        rogue = f"rogue-{webhook['id']}"
        send_rogue(api_cloud, gateway, rogue, range(1, 4))
        wait_until(lambda: any(rogue.encode() in r.body for r in receiver.received), "delivery")
    (call,) = [r for r in receiver.received if rogue.encode() in r.body]
    assert verify(call.headers[HEADER], bytes.fromhex(webhook["secret"]), call.body)
    assert not verify(call.headers[HEADER], b"wrong secret", call.body)
    event = json.loads(call.body)
    assert (event["type"], event["source"], event["reason"], event["gateway_id"]) == (
        "security_event",
        rogue,
        "unknown-source",
        gateway.id,
    )
    log = deliveries(api_cloud, webhook["id"])
    assert [(d["status"], d["attempts"]) for d in log if d["payload"]["source"] == rogue] == [
        ("delivered", 1)
    ]


@pytest.mark.slow
def test_failed_deliveries_are_retried_and_logged(
    api_cloud: CloudServer, gateway: RegisteredGateway
) -> None:
    with WebhookReceiver(fail_first=2) as receiver:
        webhook = add_webhook(api_cloud, receiver.url)
        send_rogue(api_cloud, gateway, f"retry-{webhook['id']}", range(1, 2))
        wait_until(lambda: receiver.received, "a delivery after two failures", timeout=30)
    (delivery,) = deliveries(api_cloud, webhook["id"])
    wait_until(lambda: deliveries(api_cloud, webhook["id"])[0]["status"] == "delivered", "log")
    delivery = deliveries(api_cloud, webhook["id"])[0]
    assert delivery["attempts"] == 3 and delivery["last_status_code"] == 204
    assert receiver.answered == 3


def test_a_flood_is_one_delivery_per_window(
    api_cloud: CloudServer, gateway: RegisteredGateway
) -> None:
    with WebhookReceiver() as receiver:
        webhook = add_webhook(api_cloud, receiver.url)
        rogue = f"flood-{webhook['id']}"
        for first in range(1, 3001, 1000):
            send_rogue(api_cloud, gateway, rogue, range(first, first + 1000))
        wait_until(lambda: receiver.received, "the first delivery")
        log = deliveries(api_cloud, webhook["id"])
    assert 1 <= len(log) <= 2, "one per (source, reason, minute); a run may straddle two"


@pytest.fixture
def guarded_cloud(tmp_path: Path) -> Iterator[CloudServer]:
    server = CloudServer(tmp_path, f"sqlite:///{tmp_path / 'c.db'}", webhooks_allow_private=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_private_destinations_are_refused_by_default(guarded_cloud: CloudServer) -> None:
    gateway = guarded_cloud.add_gateway()
    with WebhookReceiver() as receiver:
        webhook = add_webhook(guarded_cloud, receiver.url)
        send_rogue(guarded_cloud, gateway, "rogue-1", range(1, 2))
        wait_until(lambda: deliveries(guarded_cloud, webhook["id"])[0]["attempts"] >= 1, "attempt")
        assert receiver.answered == 0
    (delivery,) = deliveries(guarded_cloud, webhook["id"])
    assert "not allowed" in delivery["last_error"] and delivery["status"] == "pending"


@pytest.mark.parametrize(
    ("url", "pinned", "host", "sni"),
    [
        (
            "https://93.184.216.34/hook?x=1",
            "https://93.184.216.34:443/hook?x=1",
            "93.184.216.34",
            {"sni_hostname": "93.184.216.34"},
        ),
        ("http://8.8.8.8:8080/h", "http://8.8.8.8:8080/h", "8.8.8.8:8080", {}),
    ],
)
def test_deliveries_connect_to_the_address_that_was_checked(
    url: str, pinned: str, host: str, sni: dict[str, str]
) -> None:
    """Resolved once, connected to that address: no second lookup to rebind."""
    from edgeward.cloud.egress.guard import EgressPolicy
    from edgeward.cloud.egress.guard import pinned as pin

    headers: dict[str, str] = {}
    got_url, extensions = asyncio.run(pin(url, headers, EgressPolicy()))
    assert (got_url, headers["Host"], extensions) == (pinned, host, sni)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/h",
        "http://localhost/h",
        "http://10.1.2.3/h",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/h",
    ],
)
def test_private_destinations_are_refused_before_connecting(url: str) -> None:
    from edgeward.cloud.egress.guard import DestinationRefused, EgressPolicy, pinned

    with pytest.raises(DestinationRefused):
        asyncio.run(pinned(url, {}, EgressPolicy()))


def test_an_allowed_network_lets_only_that_network_through() -> None:
    from edgeward.cloud.egress.guard import DestinationRefused, EgressPolicy, parse_networks, pinned

    policy = EgressPolicy(allowed_networks=parse_networks("127.0.0.0/8", "test"))
    got_url, _ = asyncio.run(pinned("http://127.0.0.1:9/h", {}, policy))
    assert got_url == "http://127.0.0.1:9/h"
    with pytest.raises(DestinationRefused):
        asyncio.run(pinned("http://10.1.2.3/h", {}, policy))
    with pytest.raises(ValueError, match="not a network"):
        parse_networks("127.0.0.0/8, nonsense", "EDGEWARD_CLOUD_PROXY_ALLOW_NETWORKS")
