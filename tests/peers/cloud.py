"""The real cloud, served by uvicorn in its own process on a free port."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from edgeward.cloud.gateways import add_gateway
from edgeward.cloud.settings import CloudSettings
from edgeward.cloud.storage.database import Database
from edgeward.cloud.tokens import create_token, parse_grants
from edgeward.processes import ChildProcess


@dataclass
class RegisteredGateway:
    id: str
    credential: str


class CloudServer:
    def __init__(self, root: Path, db_url: str, port: int = 0) -> None:
        self.root = root
        self.data_dir = root / "cloud-data"
        self.db_url = db_url
        self.process = ChildProcess(
            "cloud",
            [
                "cloud",
                "serve",
                "--data-dir",
                str(self.data_dir),
                "--db",
                db_url,
                "--port",
                str(port),
                "--port-file",
                str(root / "cloud.port"),
            ],
            root / "cloud.log",
        )
        self.url = ""
        self._settings: CloudSettings | None = None
        self._database: Database | None = None

    def start(self) -> CloudServer:
        (self.root / "cloud.port").unlink(missing_ok=True)
        self.process.start()
        port = self.process.wait_for_port_file(self.root / "cloud.port", timeout=60)
        self.url = f"http://127.0.0.1:{port}"
        self.process.wait_for(self._healthy, "answer on /healthz", timeout=60)
        return self

    def stop(self) -> None:
        self.process.stop()
        if self._database is not None:
            self._database.dispose()

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def admin(self, *args: str) -> dict[str, str]:
        """Run ``edgeward cloud admin ...`` against this cloud's storage."""
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "edgeward",
                "cloud",
                "admin",
                *args,
                "--data-dir",
                str(self.data_dir),
                "--db",
                self.db_url,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        return dict(re.findall(r"^(\w+) = (\S+)$", result.stdout, flags=re.MULTILINE))

    def _storage(self) -> tuple[CloudSettings, Database]:
        # Same data directory and database as the server, so the same pepper.
        if self._database is None:
            self._settings = CloudSettings.load(self.data_dir, self.db_url)
            self._database = Database(self.db_url)
        assert self._settings is not None
        return self._settings, self._database

    def add_gateway(self, name: str = "test-gateway") -> RegisteredGateway:
        settings, database = self._storage()
        created = add_gateway(database.engine, settings.pepper, name)
        return RegisteredGateway(created.id, created.credential)

    def create_token(self, *grants: str) -> str:
        settings, database = self._storage()
        return create_token(
            database.engine, settings.pepper, "test-app", parse_grants(list(grants))
        ).secret

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)

    def all_readings(self, token: str, source: str) -> list[dict[str, object]]:
        """Every stored reading of ``source``, following the cursor to the end."""
        items: list[dict[str, object]] = []
        cursor = None
        with self.client(token) as client:
            while True:
                params: dict[str, object] = {"source": source, "limit": 1000}
                if cursor:
                    params["cursor"] = cursor
                page = client.get("/v1/readings", params=params).raise_for_status().json()
                items += page["items"]
                cursor = page["next_cursor"]
                if not page["has_more"]:
                    return items
