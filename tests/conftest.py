from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers.cloud import CloudServer
from tests.peers.postgres import fresh_database


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each storage test runs on SQLite and on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cloud.db'}"
    else:
        with fresh_database() as url:
            yield url


@pytest.fixture
def cloud(tmp_path: Path, database_url: str) -> Iterator[CloudServer]:
    server = CloudServer(tmp_path, database_url).start()
    try:
        yield server
    finally:
        server.stop()


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
