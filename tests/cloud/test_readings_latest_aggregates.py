"""GET /v1/readings/latest and /v1/readings/aggregates on SQLite and PostgreSQL, checked
against values the test computes from the readings it stored."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import pytest

from tests.cloud.conftest import START
from tests.cloud.readings_data import METERS, OTHER_METER, THERMOMETER, Seeded, Sent, seeded
from tests.cloud.test_ingest import assert_error
from tests.peers.cloud import CloudServer

__all__ = ["seeded"]  # the fixture

FUNCTIONS = ("count", "min", "max", "avg", "sum", "first", "last")


def newest(sent: list[Sent], source: str, before: float = math.inf) -> Sent:
    """The newest reading of ``source`` before ``before`` s; the later stored wins a tie."""
    chosen = [(r.second, n, r) for n, r in enumerate(sent) if r.source == source]
    return max(t for t in chosen if t[0] < before)[2]


def test_latest_of_named_sources(api_cloud: CloudServer, seeded: Seeded) -> None:
    with api_cloud.client(seeded.token) as client:
        response = client.get("/v1/readings/latest", params={"source": ["m2", THERMOMETER]})
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [item["source"] for item in items] == ["m2", THERMOMETER]
    for item in items:
        sent = newest(seeded.sent, item["source"])
        assert (item["gateway_id"], item["seq"], item["values"]) == (*sent.key, sent.values)
        assert item["time"] == sent.time.replace(".000000Z", "Z")


def test_latest_of_a_type_and_of_the_account(api_cloud: CloudServer, seeded: Seeded) -> None:
    with api_cloud.client(seeded.token) as client:
        by_type = client.get(
            "/v1/readings/latest", params={"type": "builtin:modbus-power-meter"}
        ).json()["items"]
        everything = client.get("/v1/readings/latest").json()["items"]
    meters = sorted((*METERS, OTHER_METER))
    assert [item["source"] for item in by_type] == meters
    assert [(item["gateway_id"], item["seq"]) for item in by_type] == [
        newest(seeded.sent, source).key for source in meters
    ]
    # The whole account: every source with a reading (a late-added one may be there too).
    shown = {item["source"]: (item["gateway_id"], item["seq"]) for item in everything}
    for source in (*meters, THERMOMETER):
        assert shown[source] == newest(seeded.sent, source).key


def test_latest_before_until_narrowed_to_fields(api_cloud: CloudServer, seeded: Seeded) -> None:
    params = {"source": list(METERS), "until": "2026-11-26T12:01:00Z", "fields": "voltage"}
    with api_cloud.client(seeded.token) as client:
        items = client.get("/v1/readings/latest", params=params).json()["items"]
    assert len(items) == 3
    for item in items:
        sent = newest(seeded.sent, item["source"], before=60.0)
        assert (item["gateway_id"], item["seq"]) == sent.key
        assert item["values"] == {"voltage": sent.values["voltage"]}


def expected_aggregates(
    sent: list[Sent],
    sources: tuple[str, ...],
    fields: list[str],
    since: float,
    until: float,
    width: float,
) -> dict[tuple[str, int], dict[str, dict[str, Any]]]:
    series: dict[tuple[str, int], list[tuple[float, int, dict[str, Any]]]] = defaultdict(list)
    for n, r in enumerate(sent):
        if r.source in sources and since <= r.second < until:
            series[(r.source, int((r.second - since) // width))].append((r.second, n, r.values))
    answer = {}
    for key, rows in series.items():
        rows.sort(key=lambda t: (t[0], t[1]))
        per_field = {}
        for name in fields:
            numbers = [
                v[name]
                for _, _, v in rows
                if isinstance(v.get(name), int | float) and not isinstance(v.get(name), bool)
            ]
            per_field[name] = (
                {
                    "count": len(numbers),
                    "min": min(numbers),
                    "max": max(numbers),
                    "avg": sum(numbers) / len(numbers),
                    "sum": sum(numbers),
                    "first": numbers[0],
                    "last": numbers[-1],
                }
                if numbers
                else {"count": 0, **{fn: None for fn in FUNCTIONS[1:]}}
            )
        if any(per_field[name]["count"] for name in fields):
            answer[key] = per_field
    return answer


@pytest.mark.parametrize("bucket", ["60", "PT1M", "45", "PT2M30S"])
def test_aggregates_match_values_computed_here(
    api_cloud: CloudServer, seeded: Seeded, bucket: str
) -> None:
    width = {"60": 60.0, "PT1M": 60.0, "45": 45.0, "PT2M30S": 150.0}[bucket]
    sources = (*METERS, OTHER_METER)
    params = {
        "type": "builtin:modbus-power-meter",
        "since": "2026-11-26T12:00:10Z",
        "until": "2026-11-26T12:04:50Z",
        "bucket": bucket,
        "fields": ["power", "voltage"],
    }
    with api_cloud.client(seeded.token) as client:
        response = client.get("/v1/readings/aggregates", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["bucket_seconds"] == width
    want = expected_aggregates(seeded.sent, sources, ["power", "voltage"], 10.0, 290.0, width)
    got = {}
    for item in body["items"]:
        index = (item["start"], item["source"])
        offset = (_seconds(item["start"]) - 10.0) / width
        assert offset == int(offset), index
        got[(item["source"], int(offset))] = item["fields"]
    assert got.keys() == want.keys()
    for key, fields in want.items():
        for name, values in fields.items():
            for fn, value in values.items():
                assert got[key][name][fn] == pytest.approx(value), (key, name, fn)
    # m3's "n/a" power (its 6th reading, second 40.5) was skipped, not cast.
    assert any(r.values.get("power") == "n/a" and 10 <= r.second < 290 for r in seeded.sent)


def test_aggregates_pick_functions_and_skip_empty_buckets(
    api_cloud: CloudServer, seeded: Seeded
) -> None:
    params = {
        "source": THERMOMETER,
        "since": "2026-11-26T11:59:00Z",
        "until": "2026-11-26T12:10:00Z",
        "bucket": "60",
        "fields": "temperature",
        "functions": ["first", "last", "count"],
    }
    with api_cloud.client(seeded.token) as client:
        items = client.get("/v1/readings/aggregates", params=params).json()["items"]
    want = expected_aggregates(seeded.sent, (THERMOMETER,), ["temperature"], -60.0, 540.0, 60.0)
    assert [(item["source"], _seconds(item["start"])) for item in items] == [
        (source, -60.0 + 60 * index) for source, index in sorted(want)
    ]
    assert 0 not in {index for _, index in want}, "the minute before START had no reading"
    for item in items:
        index = int((_seconds(item["start"]) + 60) // 60)
        expected = want[(THERMOMETER, index)]["temperature"]
        assert item["fields"]["temperature"] == {
            fn: pytest.approx(expected[fn]) for fn in ("first", "last", "count")
        }


def _seconds(stamp: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(stamp.replace("Z", "+00:00")) - START).total_seconds()


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"bucket": "1", "until": "2026-11-27T12:00:00Z"}, 400, "bucket"),
        ({"bucket": "P1Y"}, 400, "bucket"),
        ({"bucket": "PT0.5S"}, 400, "bucket"),
        ({"bucket": "P999999D"}, 400, "bucket"),
        ({"bucket": "soon"}, 400, "bucket"),
        ({"since": None}, 400, "since"),
        ({"until": None}, 400, "until"),
        ({"fields": None}, 400, "fields"),
        ({"fields": "temperature", "source": "m1"}, 400, "fields"),
        ({"functions": "median"}, 422, "functions.0"),
        ({"source": "ghost"}, 404, "source"),
        ({"every": "minute"}, 400, "every"),
    ],
)
def test_aggregate_refusals_name_the_parameter(
    api_cloud: CloudServer, seeded: Seeded, params: dict[str, Any], status: int, field: str
) -> None:
    query: dict[str, Any] = {
        "since": "2026-11-26T12:00:00Z",
        "until": "2026-11-26T13:00:00Z",
        "bucket": "60",
        "fields": "power",
    }
    query.update(params)
    query = {k: v for k, v in query.items() if v is not None}
    with api_cloud.client(seeded.token) as client:
        response = client.get("/v1/readings/aggregates", params=query)
    code = {400: "bad_request", 404: "not_found", 422: "invalid_request"}[status]
    assert assert_error(response, status, code)["field"] == field


def test_latest_refuses_unknown_parameters_and_types(
    api_cloud: CloudServer, seeded: Seeded
) -> None:
    with api_cloud.client(seeded.token) as client:
        response = client.get("/v1/readings/latest", params={"sources": "m1"})
        assert assert_error(response, 400, "bad_request")["field"] == "sources"
        response = client.get("/v1/readings/latest", params={"type": "builtin:nope"})
        assert assert_error(response, 404, "not_found")["field"] == "type"
