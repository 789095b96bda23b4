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
