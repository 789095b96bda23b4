from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.peers.cloud import CloudServer


@pytest.fixture(scope="module")
def served_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    """The real cloud without a hub (the tunnel has its own test, as root)."""
    root = tmp_path_factory.mktemp("cloud")
    server = CloudServer(root, f"sqlite:///{root / 'cloud.db'}").start()
    try:
        yield server
    finally:
        server.stop()


def edgeward(*args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """Run the ``edgeward`` command as an installer would; output captured."""
    return subprocess.run(
        [*prefix, sys.executable, "-m", "edgeward", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )


def new_claim(cloud: CloudServer, **body: Any) -> dict[str, Any]:
    with cloud.client(cloud.account.owner_token) as owner:
        return dict(owner.post("/v1/claim-codes", json=body).raise_for_status().json())


def provision(
    cloud_url: str, code: str | None, root: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    claim = ["--cloud", cloud_url, "--claim", code] if code else []
    return edgeward("provision", *claim, "--root", str(root), *extra)


def provisioned(cloud: CloudServer, root: Path) -> None:
    """A gateway enrolled under ``root`` without the tunnel, or the test fails."""
    done = provision(cloud.url, new_claim(cloud)["code"], root, "--no-tunnel")
    assert done.returncode == 0, done.stdout + done.stderr
