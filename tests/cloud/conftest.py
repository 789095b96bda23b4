from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.peers.cloud import CloudServer
from tests.peers.postgres import fresh_database


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api_cloud(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CloudServer]:
    """One real cloud per storage backend for a whole module; tests keep apart
    by registering their own gateways and sources."""
    root = tmp_path_factory.mktemp(f"cloud-{request.param}")
    if request.param == "sqlite":
        server = CloudServer(root, f"sqlite:///{root / 'cloud.db'}").start()
        try:
            yield server
        finally:
            server.stop()
    else:
        with fresh_database() as url:
            server = CloudServer(root, url).start()
            try:
                yield server
            finally:
                server.stop()


START = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def batch_body(gateway_id: str, source: str, seqs: range | list[int], **overrides: Any) -> bytes:
    document = {
        "format": "edgeward.batch",
        "version": 1,
        "gateway_id": gateway_id,
        "readings": [
            {
                "seq": seq,
                "source": source,
                "time": (START + timedelta(seconds=seq)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "values": {"power": seq * 1.5, "count": seq},
            }
            for seq in seqs
        ],
    }
    document.update(overrides)
    return json.dumps(document).encode()
