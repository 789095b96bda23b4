from __future__ import annotations

import fcntl
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers.cloud import CloudServer
from tests.peers.postgres import fresh_database


@pytest.fixture(scope="module", autouse=True)
def exclusive_module(request: pytest.FixtureRequest) -> Iterator[None]:
    """A module marked ``exclusive(name)`` holds the machine-wide lock ``name``
    while it runs, so no other pytest-xdist worker, nor another test run on
    this machine, uses the same thing meanwhile: one WireGuard hub named
    ``ewhub0`` and one tunnel named ``edgeward0`` (their control sockets in
    /var/run/wireguard are the machine's), one cached image root.

    pytest-xdist's ``xdist_group`` would do it within one run, but with
    pytest 9.2 ``--dist loadgroup`` silently stops grouping (pytest-xdist
    issue 1386), and it never covered two runs."""
    marker = request.node.get_closest_marker("exclusive")
    if marker is None:
        yield
        return
    lock_path = Path(tempfile.gettempdir()) / f"edgeward-tests-{marker.args[0]}.lock"
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


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


@pytest.fixture(scope="module")
def sqlite_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    """One real cloud on SQLite for a whole module of device tests, where the
    storage backend is not what is tested; tests keep apart by their own gateways."""
    root = tmp_path_factory.mktemp("cloud")
    server = CloudServer(root, f"sqlite:///{root / 'cloud.db'}").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)]
)
def api_cloud(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CloudServer]:
    """One real cloud per storage backend for a whole module; tests keep apart
    by registering their own gateways and sources.

    The API tests on PostgreSQL are marked slow: they double the cloud tests'
    time, so quick feedback (``make check``) runs them on SQLite and ``make
    test`` on both. The storage tests and the end-to-end ones (``database_url``)
    run on PostgreSQL in both."""
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
