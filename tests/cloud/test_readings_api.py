"""GET /v1/readings: paging, time filters and grants, on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets

import pytest

from tests.cloud.conftest import batch_body
from tests.cloud.test_ingest import assert_error, post
from tests.peers.cloud import CloudServer


@pytest.fixture(scope="module")
def seeded(api_cloud: CloudServer) -> tuple[str, str]:
    """A source with 25 readings one second apart, and a read token."""
    source = f"src-{secrets.token_hex(4)}"
    gateway = api_cloud.add_gateway(sources=[source])
    response = post(api_cloud, gateway.credential, batch_body(gateway.id, source, range(1, 26)))
    assert response.status_code == 200
    return source, api_cloud.token_with("readings:GET")


def test_pages_cover_everything_once_in_time_order(
    api_cloud: CloudServer, seeded: tuple[str, str]
) -> None:
    source, token = seeded
    seen, cursor, pages = [], None, 0
    with api_cloud.client(token) as client:
        while True:
            params = {"source": source, "limit": 10, **({"cursor": cursor} if cursor else {})}
            page = client.get("/v1/readings", params=params).json()
            pages += 1
            seen += [item["seq"] for item in page["items"]]
            cursor = page["next_cursor"]
            if not page["has_more"]:
                break
        assert seen == list(range(1, 26))
        assert pages == 3
        # The last cursor tails: nothing new yet, and the cursor stays put.
        tail = client.get("/v1/readings", params={"source": source, "cursor": cursor}).json()
        assert tail == {"items": [], "next_cursor": cursor, "has_more": False}


def test_reading_carries_its_values_and_time(
    api_cloud: CloudServer, seeded: tuple[str, str]
) -> None:
    source, token = seeded
    with api_cloud.client(token) as client:
        first = client.get("/v1/readings", params={"source": source, "limit": 1}).json()
    item = first["items"][0]
    assert item["seq"] == 1
    assert item["values"] == {"power": 1.5, "count": 1}
    assert item["time"] == "2026-11-26T12:00:01Z"


def test_since_is_inclusive_and_until_exclusive(
    api_cloud: CloudServer, seeded: tuple[str, str]
) -> None:
    source, token = seeded
    params = {"source": source, "since": "2026-11-26T12:00:05Z", "until": "2026-11-26T12:00:08Z"}
    with api_cloud.client(token) as client:
        page = client.get("/v1/readings", params=params).json()
    assert [item["seq"] for item in page["items"]] == [5, 6, 7]


@pytest.mark.parametrize(
    ("params", "status", "code", "field"),
    [
        ({"cursor": "garbage!"}, 400, "bad_request", "cursor"),
        (
            {"cursor": "WzEwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAsIDFd"},
            400,
            "bad_request",
            "cursor",
        ),
        ({"limit": 0}, 422, "invalid_request", "limit"),
        ({"limit": 5000}, 422, "invalid_request", "limit"),
        ({"since": "yesterday"}, 422, "invalid_request", "since"),
        ({"since": "2026-11-26T12:00:05"}, 400, "bad_request", "since"),
    ],
)
def test_bad_query_is_a_json_error(
    api_cloud: CloudServer,
    seeded: tuple[str, str],
    params: dict[str, object],
    status: int,
    code: str,
    field: str,
) -> None:
    source, token = seeded
    with api_cloud.client(token) as client:
        response = client.get("/v1/readings", params={"source": source, **params})
    assert assert_error(response, status, code)["field"] == field


def test_without_source_the_whole_account_is_read(
    api_cloud: CloudServer, seeded: tuple[str, str]
) -> None:
    """``source`` became optional (issue 17): none means every source of the account."""
    source, token = seeded
    with api_cloud.client(token) as client:
        page = client.get("/v1/readings", params={"limit": 1000}).json()
    assert [item["seq"] for item in page["items"] if item["source"] == source] == list(range(1, 26))


def test_reading_needs_the_readings_get_grant(
    api_cloud: CloudServer, seeded: tuple[str, str]
) -> None:
    source, _ = seeded
    params = {"source": source}
    with api_cloud.client() as anonymous:
        assert_error(anonymous.get("/v1/readings", params=params), 401, "unauthenticated")
    for grant in ("readings:POST,PUT,DELETE", "ingest:GET"):
        with api_cloud.client(api_cloud.token_with(grant)) as client:
            assert_error(client.get("/v1/readings", params=params), 403, "forbidden")
    gateway = api_cloud.add_gateway()
    with api_cloud.client(gateway.credential) as client:
        assert_error(client.get("/v1/readings", params=params), 403, "forbidden")


def test_unknown_route_is_a_json_error(api_cloud: CloudServer) -> None:
    with api_cloud.client() as client:
        assert_error(client.get("/v1/nothing-here"), 404, "not_found")
        assert client.get("/openapi.json").json()["info"]["title"] == "Edgeward cloud API"
