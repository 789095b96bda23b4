"""GET /v1/readings across the account: filters, order, cursors and refusals, on SQLite and
PostgreSQL, checked against the readings the test stored through the ingest route."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from tests.cloud.readings_data import (
    METERS,
    OTHER_METER,
    THERMOMETER,
    Seeded,
    Sent,
    seeded,
)
from tests.cloud.test_ingest import assert_error
from tests.peers.cloud import CloudServer

__all__ = ["seeded"]  # the fixture


def keys(items: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(item["gateway_id"], item["seq"]) for item in items]


def expected(
    seeded: Seeded, sources: tuple[str, ...] | None = None, descending: bool = False
) -> list[tuple[str, int]]:
    """Stored readings in (time, id) order; ids follow the order they were sent in."""
    numbered = [(r.second, n, r) for n, r in enumerate(seeded.sent)]
    chosen = [(second, n, r) for second, n, r in numbered if sources is None or r.source in sources]
    chosen.sort(key=lambda t: (t[0], t[1]), reverse=descending)
    return [r.key for _, _, r in chosen]


def page_through(
    client: httpx.Client, params: dict[str, Any], limit: int
) -> tuple[list[dict[str, Any]], str | None, int]:
    items: list[dict[str, Any]] = []
    cursor, pages = None, 0
    while True:
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        response = client.get("/v1/readings", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        assert set(page) == {"items", "next_cursor", "has_more"}
        items += page["items"]
        cursor, pages = page["next_cursor"], pages + 1
        if not page["has_more"]:
            return items, cursor, pages


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("limit", [1, 7, 1000])
def test_the_whole_account_pages_through_without_loss_or_repeat(
    api_cloud: CloudServer, seeded: Seeded, order: str, limit: int
) -> None:
    with api_cloud.client(seeded.token) as client:
        items, _, pages = page_through(client, {"order": order}, limit)
    assert keys(items) == expected(seeded, descending=order == "desc")
    assert pages == -(-len(seeded.sent) // limit)


def test_order_defaults_to_oldest_first(api_cloud: CloudServer, seeded: Seeded) -> None:
    with api_cloud.client(seeded.token) as client:
        page = client.get("/v1/readings", params={"limit": 5}).json()
    assert keys(page["items"]) == expected(seeded)[:5]


@pytest.mark.parametrize(
    ("params", "sources"),
    [
        ({"source": ["m1", OTHER_METER]}, ("m1", OTHER_METER)),
        ({"source": "m3"}, ("m3",)),
        ({"type": "builtin:modbus-power-meter"}, (*METERS, OTHER_METER)),
        ({"type": "builtin:modbus-power-meter", "source": ["m2", "m3"]}, ("m2", "m3")),
        ({"gateway_id": "two"}, (OTHER_METER, THERMOMETER)),
    ],
)
def test_filters_select_exactly_their_readings(
    api_cloud: CloudServer, seeded: Seeded, params: dict[str, Any], sources: tuple[str, ...]
) -> None:
    if params.get("gateway_id") == "two":
        params = {"gateway_id": seeded.two.id}
    with api_cloud.client(seeded.token) as client:
        for order in ("asc", "desc"):
            items, _, _ = page_through(client, {**params, "order": order}, 9)
            assert keys(items) == expected(seeded, sources, descending=order == "desc")


def test_type_filter_by_the_accounts_own_type(api_cloud: CloudServer, seeded: Seeded) -> None:
    with api_cloud.client(seeded.token) as client:
        items, _, _ = page_through(client, {"type": seeded.thermometer_type}, 1000)
    assert keys(items) == expected(seeded, (THERMOMETER,))
    assert all(set(item["values"]) == {"temperature"} for item in items)


def test_time_range_is_inclusive_then_exclusive(api_cloud: CloudServer, seeded: Seeded) -> None:
    # Second 15 is m1's and m2's 3rd reading (index 2); second 30 starts index 4.
    since, until = "2026-11-26T12:00:15Z", "2026-11-26T13:00:30+01:00"
    with api_cloud.client(seeded.token) as client:
        items, _, _ = page_through(client, {"since": since, "until": until, "source": "m1"}, 2)
    assert [item["time"] for item in items] == [
        "2026-11-26T12:00:15Z",
        "2026-11-26T12:00:22.500000Z",
    ]


def test_fields_narrow_each_readings_values(api_cloud: CloudServer, seeded: Seeded) -> None:
    by_key = {r.key: r for r in seeded.sent}
    with api_cloud.client(seeded.token) as client:
        params = {"source": ["m2", THERMOMETER], "fields": ["power", "temperature"]}
        items, _, _ = page_through(client, params, 1000)
    assert len(items) == 60
    for item in items:
        sent: Sent = by_key[(item["gateway_id"], item["seq"])]
        wanted = {k: v for k, v in sent.values.items() if k in ("power", "temperature")}
        assert item["values"] == wanted
    assert any(item["values"] == {} for item in items), "m2's readings without power stay"


def test_a_cursor_tails_new_readings(api_cloud: CloudServer, seeded: Seeded) -> None:
    """The last cursor of a finished paging picks up readings stored later, and only those."""
    gateway = api_cloud.add_gateway(seeded.account.owner_token, name="late", sources=["late-1"])
    early = Sent(gateway.id, 1, "late-1", 900.0, {"power": 1.0})
    seeded.send(api_cloud, gateway, [early])
    with api_cloud.client(seeded.token) as client:
        items, cursor, _ = page_through(client, {"source": "late-1"}, 10)
        assert keys(items) == [early.key]
        later = Sent(gateway.id, 2, "late-1", 901.0, {"power": 2.0})
        seeded.send(api_cloud, gateway, [later])
        page = client.get("/v1/readings", params={"source": "late-1", "cursor": cursor}).json()
    assert keys(page["items"]) == [later.key]
    assert page["has_more"] is False


def first_cursor(client: httpx.Client, params: dict[str, Any]) -> str:
    page = client.get("/v1/readings", params={**params, "limit": 2}).json()
    assert page["has_more"], page
    return str(page["next_cursor"])


def tampered(cursor: str) -> str:
    """The same tag over a position one row later: a forger's guess."""
    position, _, tag = cursor.partition(".")
    raw = base64.urlsafe_b64decode(position + "=" * (-len(position) % 4)).decode()
    time_us, row_id = raw.strip("[]").split(",")
    forged = f"[{time_us},{int(row_id) + 1}]".encode()
    return base64.urlsafe_b64encode(forged).decode().rstrip("=") + "." + tag


def test_cursors_are_bound_to_account_filter_and_order(
    api_cloud: CloudServer, seeded: Seeded
) -> None:
    with api_cloud.client(seeded.token) as client:
        cursor = first_cursor(client, {"source": "m1"})
        assert client.get("/v1/readings", params={"source": "m1", "cursor": cursor}).is_success
        refused = [
            {"source": "m1", "cursor": tampered(cursor)},
            {"source": "m1", "cursor": cursor + "A"},
            {"source": "m1", "cursor": cursor.partition(".")[0]},
            {"source": "m2", "cursor": cursor},
            {"source": "m1", "order": "desc", "cursor": cursor},
            {"source": "m1", "since": "2026-11-26T12:00:00Z", "cursor": cursor},
        ]
        for params in refused:
            response = client.get("/v1/readings", params=params)
            assert assert_error(response, 400, "bad_request")["field"] == "cursor", params
        account_wide = first_cursor(client, {})
    other = api_cloud.new_account("someone else")
    api_cloud.add_gateway(other.owner_token, name="theirs", sources=["x1"])
    with api_cloud.client(api_cloud.token_with("readings:GET", account=other)) as intruder:
        response = intruder.get("/v1/readings", params={"cursor": account_wide})
        assert assert_error(response, 400, "bad_request")["field"] == "cursor"
        # Their own account-wide query sees none of ours.
        assert intruder.get("/v1/readings").json()["items"] == []


@pytest.mark.parametrize(
    ("params", "status", "field", "named"),
    [
        ({"source": ["m1", "nope-1", "nope-2"]}, 404, "source", "nope-1, nope-2"),
        ({"type": "dst_nope"}, 404, "type", "dst_nope"),
        ({"source": "m1", "fields": ["power", "temperature"]}, 400, "fields", "temperature"),
        ({"fields": "nonesuch"}, 400, "fields", "nonesuch"),
        ({"order": "sideways"}, 422, "order", None),
        ({"ordr": "desc"}, 400, "ordr", "ordr"),
        ({"source": [str(n) for n in range(1001)]}, 400, "source", "1000"),
        ({"limit": 1001}, 422, "limit", None),
        ({"until": "2026-11-26T12:00:00Z", "since": "2026-11-26T12:01:00Z"}, 400, "until", None),
        ({"since": "2026-11-26T12:00:00"}, 400, "since", None),
    ],
)
def test_bad_queries_name_what_is_wrong(
    api_cloud: CloudServer,
    seeded: Seeded,
    params: dict[str, Any],
    status: int,
    field: str,
    named: str | None,
) -> None:
    with api_cloud.client(seeded.token) as client:
        response = client.get("/v1/readings", params=params)
    code = {400: "bad_request", 404: "not_found", 422: "invalid_request"}[status]
    error = assert_error(response, status, code)
    assert error["field"] == field
    if named is not None:
        assert named in str(error["message"])


def test_another_accounts_source_is_unknown(api_cloud: CloudServer, seeded: Seeded) -> None:
    other = api_cloud.new_account("neighbour")
    with api_cloud.client(api_cloud.token_with("readings:GET", account=other)) as intruder:
        for path in ("/v1/readings", "/v1/readings/latest"):
            response = intruder.get(path, params={"source": "m1"})
            assert assert_error(response, 404, "not_found")["field"] == "source"
