"""The real cloud, served by uvicorn in its own process on a free port.

Registration goes straight to the cloud's storage (same database, same
pepper) because API tests register many gateways; the admin CLI itself is
tested in tests/cloud/test_admin_cli.py and used by the demo.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from edgeward.cloud.config.settings import CloudSettings
from edgeward.cloud.crypto.keys import SealedBox
from edgeward.cloud.datasources.sources import create_source
from edgeward.cloud.datasources.types import create_type
from edgeward.cloud.fleet.gateways import add_gateway
from edgeward.cloud.identity.accounts import create_account
from edgeward.cloud.identity.grants import parse
from edgeward.cloud.identity.principal import new_id
from edgeward.cloud.identity.tokens import issue
from edgeward.cloud.storage.database import Database
from edgeward.cloud.storage.schema import data_sources, gateways
from edgeward.harness.local_cloud import Account, LocalCloud, RegisteredGateway, read_pages
from edgeward.sync.clock import now_us

__all__ = ["Account", "CloudServer", "RegisteredGateway"]


class CloudServer(LocalCloud):
    def __init__(
        self,
        root: Path,
        db_url: str,
        port: int = 0,
        auth_failure_limit: int = 1_000_000,
        webhooks_allow_private: bool = True,
        extra_env: dict[str, str] | None = None,
        netns: str | None = None,
    ) -> None:
        # API tests make many failed calls from one address on purpose; the
        # rate limit has its own test with its own cloud.
        env = {
            "EDGEWARD_CLOUD_AUTH_FAILURE_LIMIT": str(auth_failure_limit),
            # Test webhook receivers listen on loopback.
            "EDGEWARD_CLOUD_WEBHOOKS_ALLOW_PRIVATE": "1" if webhooks_allow_private else "0",
            # Test vendors and echo APIs listen on loopback; nothing else private.
            "EDGEWARD_CLOUD_PROXY_ALLOW_NETWORKS": "127.0.0.0/8,::1/128",
            **(extra_env or {}),
        }
        super().__init__(root, db_url, port, env=env, netns=netns)
        self._storage: tuple[CloudSettings, Database] | None = None
        self._account: Account | None = None

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

    def new_account(self, name: str = "test account") -> Account:
        """A fresh account with its owner, straight in storage (fast; the CLI is tested apart)."""
        settings, database = self._open_storage()
        with database.engine.begin() as connection:
            created = create_account(
                connection, settings.pepper, name, f"owner-{new_id('u')}@example.com", now_us()
            )
        return Account(created.account_id, created.owner_id, created.token.secret)

    @property
    def account(self) -> Account:
        """The default account of this cloud, for tests that need just one."""
        if self._account is None:
            self._account = self.new_account()
        return self._account

    def add_gateway(
        self, token: str | None = None, name: str = "test-gateway", sources: Iterable[str] = ()
    ) -> RegisteredGateway:
        """A gateway of the default account (or of ``token``'s), with ``sources``
        registered as bound Modbus power meters on it."""
        settings, database = self._open_storage()
        account_id = self.account.id if token is None else self._account_of(token)
        with database.engine.begin() as connection:
            created = add_gateway(connection, settings.pepper, account_id, name, now_us())
        gateway = RegisteredGateway(created.id, created.credential)
        self.register_sources(account_id, gateway.id, sources)
        return gateway

    def register_sources(self, account_id: str, gateway_id: str, names: Iterable[str]) -> None:
        _, database = self._open_storage()
        box = SealedBox.from_data_dir(self.data_dir)
        with database.engine.begin() as connection:
            for unit, name in enumerate(names, start=1):
                body = {
                    "name": name,
                    "type_id": "builtin:modbus-power-meter",
                    "gateway_id": gateway_id,
                    "binding": {"bus": "test", "unit": unit},
                }
                create_source(connection, box, account_id, body, now_us())

    def bind_modbus(self, gateway_id: str, bus: str, devices: Iterable[Mapping[str, Any]]) -> None:
        """Register ``devices`` (gateway.toml Modbus device tables) as the gateway's admission
        will check them: bound at ``bus`` (``modbus-tcp://host:port``) and their unit, of a
        type with their register map. Sources that exist already are re-bound and re-typed."""
        _, database = self._open_storage()
        box = SealedBox.from_data_dir(self.data_dir)
        types: dict[str, str] = {}
        with database.engine.begin() as connection:
            account_id = connection.execute(
                sa.select(gateways.c.account_id).where(gateways.c.id == gateway_id)
            ).scalar_one()
            for device in devices:
                registers = list(device["registers"])
                shape = json.dumps(registers, sort_keys=True)
                if shape not in types:
                    spec = {
                        "transport": "modbus",
                        "auth_mode": "bound",
                        "decoder": {"registers": registers},
                    }
                    name = f"test meter {len(types)}"
                    types[shape] = create_type(connection, account_id, name, spec, now_us())["id"]
                binding = {"bus": bus, "unit": device["unit"]}
                self._upsert_source(
                    connection, box, account_id, gateway_id, device["source"], types[shape], binding
                )

    @staticmethod
    def _upsert_source(
        connection: sa.Connection,
        box: SealedBox,
        account_id: str,
        gateway_id: str,
        name: str,
        type_id: str,
        binding: dict[str, Any],
    ) -> None:
        table = data_sources.c
        updated = connection.execute(
            data_sources.update()
            .where(table.account_id == account_id, table.name == name)
            .values(type_id=type_id, binding=binding, gateway_id=gateway_id)
        ).rowcount
        if not updated:
            body = {"name": name, "type_id": type_id, "gateway_id": gateway_id, "binding": binding}
            create_source(connection, box, account_id, body, now_us())

    def token_with(
        self,
        *grants: str,
        account: Account | None = None,
        user_id: str | None = None,
        name: str = "app",
    ) -> str:
        """A token of ``account``'s owner (default account), or of its user ``user_id``,
        holding ``grants`` (narrowed at use to what that user holds)."""
        owner = account or self.account
        settings, database = self._open_storage()
        with database.engine.begin() as connection:
            issued = issue(
                connection,
                settings.pepper,
                account_id=owner.id,
                owner_kind="user",
                owner_id=user_id or owner.owner_id,
                name=name,
                grants=parse(list(grants)),
                expires_us=None,
                now=now_us(),
            )
        return issued.secret

    def _account_of(self, token: str) -> str:
        with self.client(token) as client:
            return str(client.get("/v1/account").raise_for_status().json()["id"])

    def all_readings(self, token: str, source: str | None) -> list[dict[str, Any]]:
        """Every stored reading of ``source`` (None: of the whole account), following
        the cursor to the end."""
        with self.client(token) as client:
            return [item for items, _ in read_pages(client, source) for item in items]
