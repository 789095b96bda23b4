"""A site for end-to-end device tests: a gateway of the cloud's default account, an
installer's token, its gateway.toml of bindings, and a device talking on a serial line."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import serial

from edgeward.gateway.config.toml_writer import dump_toml, write_secret
from edgeward.harness.processes import ChildProcess
from tests.peers.cloud import CloudServer, RegisteredGateway

GRANTS = (
    "data-source-types:POST",
    "data-sources:POST",
    "readings:GET",
    "security-events:GET",
)


class Site:
    """A gateway of the cloud's default account and an installer's token for it."""

    def __init__(self, cloud: CloudServer, root: Path) -> None:
        self.cloud = cloud
        self.root = root
        self.gateway: RegisteredGateway = cloud.add_gateway()
        self.token = cloud.token_with(*GRANTS)

    def api(self) -> httpx.Client:
        return self.cloud.client(self.token)

    def register(self, source: str, spec: dict[str, Any], binding: dict[str, Any]) -> None:
        """Create ``spec`` as a type (the cloud decodes its examples) and a source of it."""
        with self.api() as api:
            created = api.post("/v1/data-source-types", json={"name": source, "spec": spec})
            assert created.status_code == 201, created.text
            body = {
                "name": source,
                "type_id": created.json()["id"],
                "gateway_id": self.gateway.id,
                "binding": binding,
            }
            assert api.post("/v1/data-sources", json=body).status_code == 201

    def config(self, sections: dict[str, Any]) -> Path:
        """gateway.toml: the gateway, its cloud, and ``sections`` (bindings only)."""
        directory = self.root / "gateway"
        write_secret(directory / "credential", self.gateway.credential)
        document = {
            "gateway": {"id": self.gateway.id, "data_dir": "data"},
            "cloud": {"url": self.cloud.url, "credential_file": "credential"},
            "uplink": {"idle_interval": 0.05, "backoff_max": 1.0},
            "admission": {"report_interval": 0.2},
            **sections,
        }
        path = directory / "gateway.toml"
        path.write_text(dump_toml(document))
        return path

    def readings(self, source: str) -> list[dict[str, Any]]:
        return self.cloud.all_readings(self.token, source)

    def refusals(self, source: str, reason: str) -> int:
        """How many of ``source``'s readings the gateway refused for ``reason``."""
        with self.api() as api:
            page = api.get("/v1/security-events", params={"source": source, "limit": 1000})
        return sum(
            event["count"]
            for event in page.raise_for_status().json()["items"]
            if event["reason"] == reason and event["reported_by"] == "gateway"
        )

    def ignored(self) -> int:
        """Frames the gateway passed over because their type says so (its status file)."""
        try:
            status = json.loads((self.root / "gateway" / "data" / "status.json").read_text())
        except (OSError, ValueError):
            return 0
        return int(status.get("admission", {}).get("ignored_total", 0))

    def wait_for_reading(self, process: ChildProcess, source: str) -> dict[str, Any]:
        process.wait_for(lambda: bool(self.readings(source)), f"a reading of {source}")
        return self.readings(source)[0]


@contextmanager
def talking(port: Path, frames: list[bytes]) -> Iterator[None]:
    """A device on the far end of ``port`` sending ``frames`` over and over, as a
    receiver does, until the block ends (so no frame depends on when the gateway
    opened its end)."""
    stop = threading.Event()

    def talk() -> None:
        with serial.Serial(str(port), timeout=1) as device:
            while not stop.is_set():
                for frame in frames:
                    device.write(frame)
                stop.wait(0.05)

    thread = threading.Thread(target=talk, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)
