"""The real cloud program on this machine, as the demo, the tests and the benchmarks start it.

It runs ``edgeward cloud serve`` in a child process on a free port and talks
to it the way an operator and an application would: ``edgeward cloud admin``
for gateways and tokens, HTTP for everything else.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from edgeward.harness.processes import ChildProcess, ChildProcessError

STARTUP_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    owner_id: str
    owner_token: str


@dataclass(frozen=True, slots=True)
class RegisteredGateway:
    id: str
    credential: str


class LocalCloud:
    def __init__(
        self,
        root: Path,
        db_url: str | None = None,
        port: int = 0,
        env: dict[str, str] | None = None,
        netns: str | None = None,
    ) -> None:
        """With ``netns`` the cloud runs in that network namespace, listening on all its
        addresses at ``port`` (the underlay and the hub's tunnel address); this side,
        outside it, reaches it through a Unix socket (0600) in ``root``."""
        self.root = root
        self.data_dir = root / "cloud-data"
        self.db_url = db_url
        self.port_file = root / "cloud.port"
        storage = ["--data-dir", str(self.data_dir)] + (["--db", db_url] if db_url else [])
        self.storage_args = storage
        serve = [
            "cloud",
            "serve",
            *storage,
            "--port",
            str(port),
            "--port-file",
            str(self.port_file),
        ]
        self.unix_socket: Path | None = None
        if netns is not None:
            self.unix_socket = root / "cloud.sock"
            serve += ["--host", "0.0.0.0", "--unix-socket", str(self.unix_socket)]  # noqa: S104
        self.process = ChildProcess("cloud", serve, root / "cloud.log", env=env, netns=netns)
        self.env = env
        self.url = ""
        self.port = port

    def start(self) -> LocalCloud:
        self.port_file.unlink(missing_ok=True)
        self.process.start()
        self.port = self.process.wait_for_port_file(self.port_file, timeout=STARTUP_TIMEOUT)
        self.url = "http://cloud" if self.unix_socket else f"http://127.0.0.1:{self.port}"
        self.process.wait_for(self.healthy, "answer on /healthz", timeout=STARTUP_TIMEOUT)
        return self

    def stop(self) -> None:
        self.process.stop()

    def healthy(self) -> bool:
        try:
            with self.client(timeout=2) as client:
                return client.get("/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    def admin(self, *args: str) -> dict[str, str]:
        """Run ``edgeward cloud admin ...`` on this cloud's storage; parse ``key = value`` lines."""
        result = subprocess.run(
            [sys.executable, "-m", "edgeward", "cloud", "admin", *args, *self.storage_args],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, **(self.env or {})},
        )
        if result.returncode != 0:
            raise ChildProcessError(f"cloud admin {args[0]} failed:\n{result.stderr}")
        return dict(re.findall(r"^(\w+) = (\S+)$", result.stdout, flags=re.MULTILINE))

    def create_account(self, name: str, owner_email: str) -> Account:
        created = self.admin("create-account", "--name", name, "--owner-email", owner_email)
        return Account(created["account_id"], created["owner_id"], created["token"])

    def add_gateway(self, token: str, name: str = "gateway") -> RegisteredGateway:
        """Register a gateway through the API, as an installer holding ``gateways:POST`` would."""
        with self.client(token) as client:
            created = client.post("/v1/gateways", json={"name": name}).raise_for_status().json()
        return RegisteredGateway(created["id"], created["credential"])

    def create_claim(self, token: str, **body: Any) -> str:
        """A claim code (shown once) for an installer to provision a gateway with."""
        with self.client(token) as client:
            created = client.post("/v1/claim-codes", json=body).raise_for_status().json()
        return str(created["code"])

    def create_type(self, token: str, name: str, spec: dict[str, Any]) -> str:
        """Define a data-source type through the API; return its id."""
        with self.client(token) as client:
            body = {"name": name, "spec": spec}
            created = client.post("/v1/data-source-types", json=body).raise_for_status().json()
        return str(created["id"])

    def register_source(
        self,
        token: str,
        name: str,
        gateway_id: str,
        binding: dict[str, str | int],
        type_id: str = "builtin:modbus-power-meter",
    ) -> dict[str, Any]:
        """Register a data source through the API, as an installer would."""
        body = {"name": name, "type_id": type_id, "gateway_id": gateway_id, "binding": binding}
        with self.client(token) as client:
            return dict(client.post("/v1/data-sources", json=body).raise_for_status().json())

    def create_token(self, token: str, *grants: str, name: str = "app") -> str:
        """A new token of the caller, holding ``grants`` (``"readings:GET"``)."""
        grant_map: dict[str, list[str]] = {}
        for grant in grants:
            api, _, verbs = grant.partition(":")
            grant_map.setdefault(api, []).extend(verbs.split(","))
        with self.client(token) as client:
            body = {"name": name, "grants": grant_map}
            return str(client.post("/v1/tokens", json=body).raise_for_status().json()["secret"])

    def client(self, token: str | None = None, timeout: float = 10) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        transport = httpx.HTTPTransport(uds=str(self.unix_socket)) if self.unix_socket else None
        return httpx.Client(
            transport=transport, base_url=self.url, headers=headers, timeout=timeout
        )


def read_pages(
    client: httpx.Client, source: str | None, cursor: str | None = None, limit: int = 1000
) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
    """Pages of ``GET /v1/readings`` for ``source`` (None: the whole account) from
    ``cursor`` to the newest reading.

    Yields each page's items with the cursor that continues after them; keep
    the last cursor to fetch only newer readings next time.
    """
    while True:
        params: dict[str, Any] = {"limit": limit}
        if source is not None:
            params["source"] = source
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/readings", params=params).raise_for_status().json()
        cursor = page["next_cursor"]
        yield page["items"], cursor
        if not page["has_more"]:
            return
