"""POST /v1/ingest/batches against the real cloud, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import httpx
import pytest

from edgeward.cloud.api.ingest import MAX_BATCH_BYTES
from tests.cloud.conftest import batch_body
from tests.peers.cloud import CloudServer, RegisteredGateway

INGEST = "/v1/ingest/batches"


def post(cloud: CloudServer, credential: str | None, body: bytes) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if credential is not None:
        headers["Authorization"] = f"Bearer {credential}"
    with cloud.client() as client:
        return client.post(INGEST, content=body, headers=headers)


def stored(cloud: CloudServer, source: str) -> list[int]:
    token = cloud.token_with("readings:GET")
    return [int(r["seq"]) for r in cloud.all_readings(token, source)]  # type: ignore[call-overload]


def new_source(cloud: CloudServer, gateway: RegisteredGateway | None = None) -> str:
    """A fresh source name, registered on ``gateway`` when one is given."""
    name = f"src-{secrets.token_hex(4)}"
    if gateway is not None:
        cloud.register_sources(cloud.account.id, gateway.id, [name])
    return name


@pytest.fixture
def gateway(api_cloud: CloudServer) -> RegisteredGateway:
    return api_cloud.add_gateway()


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return error  # type: ignore[no-any-return]


def test_batch_is_stored_and_acknowledged(
    api_cloud: CloudServer, gateway: RegisteredGateway
) -> None:
    source = new_source(api_cloud, gateway)
    response = post(api_cloud, gateway.credential, batch_body(gateway.id, source, range(1, 11)))
    assert response.status_code == 200, response.text
    ack = response.json()
    assert ack == {
        "format": "edgeward.ack",
        "version": 1,
        "gateway_id": gateway.id,
        "stored": 10,
        "duplicates": 0,
        "rejected": 0,
        "highest_seq": 10,
    }
    assert stored(api_cloud, source) == list(range(1, 11))


def test_resent_and_overlapping_batches_store_each_reading_once(
    api_cloud: CloudServer, gateway: RegisteredGateway
) -> None:
    source = new_source(api_cloud, gateway)
    post(api_cloud, gateway.credential, batch_body(gateway.id, source, range(1, 6)))
    again = post(api_cloud, gateway.credential, batch_body(gateway.id, source, range(1, 6)))
    assert (again.json()["stored"], again.json()["duplicates"]) == (0, 5)
    overlap = post(api_cloud, gateway.credential, batch_body(gateway.id, source, range(3, 9)))
    assert (overlap.json()["stored"], overlap.json()["duplicates"]) == (3, 3)
    assert stored(api_cloud, source) == list(range(1, 9))


def test_same_sequence_from_two_gateways_is_two_readings(api_cloud: CloudServer) -> None:
    for gateway in (api_cloud.add_gateway(), api_cloud.add_gateway()):
        source = new_source(api_cloud, gateway)
        response = post(api_cloud, gateway.credential, batch_body(gateway.id, source, [1]))
        assert response.json()["stored"] == 1
        assert stored(api_cloud, source) == [1]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", None),
        (b"[]", None),
        (b'{"format": "edgeward.batch", "version": 2}', "version"),
        (None, "readings[1].seq"),  # sequence goes backwards
        (None, "readings[0].values.power"),  # NaN
        (None, "readings[0].time"),  # no UTC offset
    ],
)
def test_malformed_batch_is_refused_whole(
    api_cloud: CloudServer, gateway: RegisteredGateway, body: bytes | None, field: str | None
) -> None:
    source = new_source(api_cloud, gateway)
    if body is None:
        good = batch_body(gateway.id, source, [5, 6])
        body = {
            "readings[1].seq": good.replace(b'"seq": 6', b'"seq": 4'),
            "readings[0].values.power": good.replace(b'"power": 7.5', b'"power": NaN'),
            "readings[0].time": good.replace(b'05.000000Z"', b'05.000000"'),
        }[field or ""]
        assert body != good
    error = assert_error(post(api_cloud, gateway.credential, body), 422, "invalid_batch")
    if field is not None:
        assert error["field"] == field
    assert stored(api_cloud, source) == []


def test_unknown_or_missing_credential_is_401_and_stores_nothing(
    api_cloud: CloudServer, gateway: RegisteredGateway
) -> None:
    source = new_source(api_cloud, gateway)
    body = batch_body(gateway.id, source, [1])
    other = api_cloud.add_gateway().credential
    forged = other[:-1] + ("A" if other[-1] != "A" else "B")  # checksum no longer matches
    for credential in (
        None,
        "not-a-credential",
        forged,
        gateway.credential.replace("ewg_", "ewt_"),
    ):
        response = post(api_cloud, credential, body)
        assert_error(response, 401, "unauthenticated")
        assert response.headers["www-authenticate"] == "Bearer"
    assert stored(api_cloud, source) == []


def test_gateway_cannot_send_for_another_gateway(api_cloud: CloudServer) -> None:
    mine, theirs = api_cloud.add_gateway(), api_cloud.add_gateway()
    source = new_source(api_cloud, theirs)
    response = post(api_cloud, mine.credential, batch_body(theirs.id, source, [1]))
    assert_error(response, 403, "forbidden")
    assert stored(api_cloud, source) == []


def test_api_token_cannot_ingest(api_cloud: CloudServer, gateway: RegisteredGateway) -> None:
    token = api_cloud.token_with("readings:GET")
    response = post(api_cloud, token, batch_body(gateway.id, new_source(api_cloud, gateway), [1]))
    assert_error(response, 403, "forbidden")


def test_oversized_batch_is_413(api_cloud: CloudServer, gateway: RegisteredGateway) -> None:
    response = post(api_cloud, gateway.credential, b" " * (MAX_BATCH_BYTES + 1))
    assert_error(response, 413, "payload_too_large")


@pytest.mark.parametrize(
    ("replace", "field"),
    [
        ((b'"2026-11-26T12:00:01.000000Z"', b'"0001-01-01T00:30:00+01:00"'), "readings[0].time"),
        ((b'"2026-11-26T12:00:01.000000Z"', b'"1969-12-31T23:59:59Z"'), "readings[0].time"),
        ((b'"count": 1', b'"count": 18446744073709551616'), "readings[0].values.count"),
        ((b'"count": 1', b'"count": ' + b"9" * 5000), None),
    ],
)
def test_edge_values_are_422_not_500(
    api_cloud: CloudServer,
    gateway: RegisteredGateway,
    replace: tuple[bytes, bytes],
    field: str | None,
) -> None:
    source = new_source(api_cloud, gateway)
    good = batch_body(gateway.id, source, [1])
    body = good.replace(*replace)
    assert body != good
    error = assert_error(post(api_cloud, gateway.credential, body), 422, "invalid_batch")
    if field is not None:
        assert error["field"] == field


def test_streamed_batch_over_the_cap_is_413(
    api_cloud: CloudServer, gateway: RegisteredGateway
) -> None:
    chunk = b" " * (1024 * 1024)

    def body() -> Iterator[bytes]:  # no Content-Length: the cap must hold while streaming
        for _ in range(MAX_BATCH_BYTES // len(chunk) + 2):
            yield chunk

    headers = {"Authorization": f"Bearer {gateway.credential}", "Content-Type": "application/json"}
    with api_cloud.client() as client:
        response = client.post(INGEST, content=body(), headers=headers)
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "payload_too_large")


def security_events(cloud: CloudServer, **filters: str) -> list[dict[str, object]]:
    with cloud.client(cloud.token_with("security-events:GET")) as client:
        response = client.get("/v1/security-events", params={"limit": 1000, **filters})
    return list(response.raise_for_status().json()["items"])


def test_readings_of_unregistered_sources_are_discarded_and_flagged(
    api_cloud: CloudServer, gateway: RegisteredGateway
) -> None:
    good, rogue = new_source(api_cloud, gateway), new_source(api_cloud)
    body = json.loads(batch_body(gateway.id, good, range(1, 6)))
    body["readings"][1]["source"] = body["readings"][3]["source"] = rogue
    response = post(api_cloud, gateway.credential, json.dumps(body).encode())
    ack = response.json()
    assert (ack["stored"], ack["duplicates"], ack["rejected"]) == (3, 0, 2)
    assert stored(api_cloud, good) == [1, 3, 5]
    everything = api_cloud.all_readings(api_cloud.token_with("readings:GET"), None)
    assert rogue not in {r["source"] for r in everything}, "nothing stored for the rogue"
    (event,) = security_events(api_cloud, source=rogue)
    assert (event["reason"], event["count"], event["gateway_id"]) == (
        "unknown-source",
        2,
        gateway.id,
    )


def test_disabled_and_foreign_sources_are_discarded(api_cloud: CloudServer) -> None:
    mine, theirs = api_cloud.add_gateway(), api_cloud.add_gateway()
    disabled, foreign = new_source(api_cloud, mine), new_source(api_cloud, theirs)
    with api_cloud.client(api_cloud.account.owner_token) as owner:
        (source,) = [
            s for s in owner.get("/v1/data-sources").json()["items"] if s["name"] == disabled
        ]
        owner.put(f"/v1/data-sources/{source['id']}", json={"enabled": False}).raise_for_status()
    for name, reason in ((disabled, "disabled-source"), (foreign, "wrong-gateway")):
        ack = post(api_cloud, mine.credential, batch_body(mine.id, name, [1])).json()
        assert (ack["stored"], ack["rejected"]) == (0, 1)
        assert stored(api_cloud, name) == []
        assert [e["reason"] for e in security_events(api_cloud, source=name)] == [reason]


def test_a_flood_of_rogue_reports_costs_one_event_row(
    api_cloud: CloudServer, gateway: RegisteredGateway
) -> None:
    rogue = new_source(api_cloud)
    for first in range(1, 10_001, 2_500):
        body = batch_body(gateway.id, rogue, range(first, first + 2_500))
        assert post(api_cloud, gateway.credential, body).json()["rejected"] == 2_500
    events = security_events(api_cloud, source=rogue)
    assert sum(int(e["count"]) for e in events) == 10_000  # type: ignore[call-overload]
    assert len(events) <= 2, "one row per window (a run may straddle two windows)"


def test_gateway_events_keep_their_largest_count(
    api_cloud: CloudServer, gateway: RegisteredGateway
) -> None:
    from edgeward.sync.events import GatewayEvent, encode_events
    from tests.cloud.conftest import START

    def report(count: int) -> httpx.Response:
        event = GatewayEvent(7, "data_dropped", START, START, count, 1, count, "quota")
        body = encode_events(gateway.id, [event])
        with api_cloud.client(gateway.credential) as client:
            return client.post("/v1/ingest/events", content=body)

    for count in (5, 3, 8):  # a resend of an older count must not shrink it
        assert report(count).status_code == 200
    with api_cloud.client(api_cloud.account.owner_token) as owner:
        events = owner.get(f"/v1/gateways/{gateway.id}/events").json()["items"]
    assert [(e["kind"], e["count"]) for e in events] == [("data_dropped", 8)]
    other = api_cloud.add_gateway()
    with api_cloud.client(other.credential) as client:
        forged = client.post(
            "/v1/ingest/events",
            content=encode_events(
                gateway.id, [GatewayEvent(8, "data_dropped", START, START, 1, 1, 1, "x")]
            ),
        )
    assert_error(forged, 403, "forbidden")
