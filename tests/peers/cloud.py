"""The real cloud, served by uvicorn in its own process on a free port.

Registration goes straight to the cloud's storage (same database, same
pepper) because API tests register many gateways; the admin CLI itself is
tested in tests/cloud/test_admin_cli.py and used by the demo.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgeward.cloud.gateways import add_gateway
from edgeward.cloud.settings import CloudSettings
from edgeward.cloud.storage.database import Database
from edgeward.cloud.tokens import create_token, parse_grants
from edgeward.local_cloud import LocalCloud, RegisteredGateway, read_pages

__all__ = ["CloudServer", "RegisteredGateway"]


class CloudServer(LocalCloud):
    def __init__(self, root: Path, db_url: str, port: int = 0) -> None:
        super().__init__(root, db_url, port)
        self._storage: tuple[CloudSettings, Database] | None = None

    def start(self) -> CloudServer:
        super().start()
        return self

    def stop(self) -> None:
        super().stop()
        if self._storage is not None:
            self._storage[1].dispose()
            self._storage = None

    def _open_storage(self) -> tuple[CloudSettings, Database]:
        if self._storage is None:
            settings = CloudSettings.load(self.data_dir, self.db_url)
            self._storage = settings, Database(settings.db_url)
        return self._storage

    def add_gateway(self, name: str = "test-gateway") -> RegisteredGateway:
        settings, database = self._open_storage()
        created = add_gateway(database.engine, settings.pepper, name)
        return RegisteredGateway(created.id, created.credential)

    def create_token(self, *grants: str, name: str = "test-app") -> str:
        settings, database = self._open_storage()
        grant_map = parse_grants(list(grants))
        return create_token(database.engine, settings.pepper, name, grant_map).secret

    def all_readings(self, token: str, source: str) -> list[dict[str, Any]]:
        """Every stored reading of ``source``, following the cursor to the end."""
        with self.client(token) as client:
            return [item for items, _ in read_pages(client, source) for item in items]
