"""Account isolation: account B's tokens never read or change account A's objects,
and the answer is 404 (not 403), so ids can't be probed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cloud.conftest import batch_body
from tests.cloud.routes_catalog import EXAMPLES, all_routes, send
from tests.cloud.test_ingest import post
from tests.peers.cloud import CloudServer

# Slow: every route as another account, like the route matrix.
pytestmark = pytest.mark.slow


def test_objects_of_another_account_are_404_for_every_route(
    tmp_path: Path, api_cloud: CloudServer
) -> None:
    mine, theirs = api_cloud.new_account("A"), api_cloud.new_account("B")
    probed = 0
    for verb, path, api in all_routes(tmp_path):
        if api is None or "{" not in path:
            continue
        request = EXAMPLES[(verb, path)].build(api_cloud, mine)
        with api_cloud.client(theirs.owner_token) as intruder:
            response = send(intruder, verb, request)
        assert response.status_code == 404, f"{verb} {path}: {response.status_code} {response.text}"
        assert response.json()["error"]["code"] == "not_found"
        with api_cloud.client(mine.owner_token) as owner:
            # The object is still there and unchanged for its own account.
            object_path = re.sub(r"/(regenerate|rotate-credentials)$", "", request.path).replace(
                "/deliveries", "/deliveries"
            )
            assert owner.get(object_path).status_code in (200, 204), object_path
        probed += 1
    assert probed >= 10


def test_lists_show_only_the_callers_account(api_cloud: CloudServer) -> None:
    mine, theirs = api_cloud.new_account("A"), api_cloud.new_account("B")
    mine_ids = {}
    with api_cloud.client(mine.owner_token) as owner:
        for path, body in (
            ("/v1/users", {"email": "only-a@example.com", "role": "member"}),
            ("/v1/applications", {"name": "a-app", "grants": {}}),
            ("/v1/gateways", {"name": "a-gw"}),
            ("/v1/tokens", {"name": "a-token", "grants": {"readings": ["GET"]}}),
        ):
            mine_ids[path] = owner.post(path, json=body).raise_for_status().json()["id"]
    with api_cloud.client(theirs.owner_token) as intruder:
        for path, object_id in mine_ids.items():
            listed = {item["id"] for item in intruder.get(path).json()["items"]}
            assert object_id not in listed, path
        events = intruder.get("/v1/audit-events", params={"limit": 1000}).json()["items"]
        assert all(event["target"] not in mine_ids.values() for event in events)
        assert intruder.get("/v1/account").json()["id"] == theirs.id


def test_readings_of_another_account_are_invisible(api_cloud: CloudServer) -> None:
    mine, theirs = api_cloud.new_account("A"), api_cloud.new_account("B")
    gateway = api_cloud.add_gateway(mine.owner_token, sources=["shared-name"])
    response = post(api_cloud, gateway.credential, batch_body(gateway.id, "shared-name", [1, 2]))
    assert response.json()["stored"] == 2
    with api_cloud.client(api_cloud.token_with("readings:GET", account=theirs)) as intruder:
        # Their account has no such source: named as unknown, never answered with ours.
        response = intruder.get("/v1/readings", params={"source": "shared-name"})
        assert response.status_code == 404, response.text
        assert response.json()["error"]["field"] == "source"
        assert intruder.get("/v1/readings").json()["items"] == []
        assert intruder.get("/v1/readings/latest").json()["items"] == []
    with api_cloud.client(api_cloud.token_with("readings:GET", account=mine)) as owner:
        page = owner.get("/v1/readings", params={"source": "shared-name"}).json()
    assert [item["seq"] for item in page["items"]] == [1, 2]
