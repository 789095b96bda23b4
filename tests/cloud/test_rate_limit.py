"""Failed authentication is rate-limited per client address and per token prefix."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.peers.cloud import CloudServer

LIMIT = 3


@pytest.fixture
def strict_cloud(tmp_path: Path) -> Iterator[CloudServer]:
    server = CloudServer(tmp_path, f"sqlite:///{tmp_path / 'c.db'}", auth_failure_limit=LIMIT)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def call(cloud: CloudServer, secret: str, source_address: str) -> httpx.Response:
    transport = httpx.HTTPTransport(local_address=source_address)
    headers = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(base_url=cloud.url, transport=transport, headers=headers) as client:
        return client.get("/v1/account")


def test_an_address_that_keeps_failing_gets_429(strict_cloud: CloudServer) -> None:
    good = strict_cloud.account.owner_token
    for attempt in range(LIMIT):
        assert call(strict_cloud, f"wrong-{attempt}", "127.0.0.1").status_code == 401
    limited = call(strict_cloud, good, "127.0.0.1")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert call(strict_cloud, good, "127.0.0.2").status_code == 200, "other addresses are fine"


def test_a_prefix_that_keeps_failing_gets_429_from_anywhere(strict_cloud: CloudServer) -> None:
    good = strict_cloud.account.owner_token
    for attempt, address in enumerate(("127.0.0.3", "127.0.0.4", "127.0.0.5")):
        guess = good[:10] + "x" * (len(good) - 11) + str(attempt)
        assert call(strict_cloud, guess, address).status_code == 401
    assert call(strict_cloud, good, "127.0.0.6").status_code == 429
