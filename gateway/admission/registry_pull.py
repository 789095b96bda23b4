"""The registry pull loop: admission works from the last verified registry, kept fresh.

At start the last verified registry in the data dir (``registry.json``,
mode 0600: it holds device keys) is loaded and re-verified, so a gateway
admits readings after a restart with the cloud away. Then, every
``[admission] registry_interval``, the registry is pulled with the gateway's
credential (``If-None-Match``: unchanged costs a 304), verified with the
cloud's Ed25519 key, checked to be this gateway's, saved, and swapped into
:class:`~edgeward.gateway.admission.policy.Admission` whole. A pull that fails
leaves the last copy in force; a source disabled at the cloud is refused
from the first reading after the pull that carried the change.

The cloud's key: ``[cloud] public_key`` in gateway.toml when the
installer provisions it out of band; otherwise asked once at first contact
(``GET /v1/registry/public-key``, over the same tunnel and cloud URL the
gateway already trusts with its credential) and pinned in ``registry.pub``.
Pinned, a path compromised later can't swap the key and sign its own
registry; rotating the cloud's key means removing the pin on purpose.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgeward.gateway.admission.policy import Admission
from edgeward.gateway.config.pipeline import AdmissionConfig
from edgeward.gateway.files import write_atomic
from edgeward.sync.client import CloudClient
from edgeward.sync.clock import now_us
from edgeward.sync.errors import CloudRejected, CloudUnavailable, SpecError
from edgeward.sync.signed_documents import RegistryStore

log = logging.getLogger(__name__)

REGISTRY_FILE = "registry.json"
PUBLIC_KEY_FILE = "registry.pub"


def pinned_key(data_dir: Path) -> str | None:
    """The cloud's signing key pinned at first contact, if any."""
    try:
        return (data_dir / PUBLIC_KEY_FILE).read_text().strip() or None
    except FileNotFoundError:
        return None


class RegistrySync:
    def __init__(
        self,
        gateway_id: str,
        data_dir: Path,
        config: AdmissionConfig,
        client: CloudClient,
        admission: Admission,
        public_key: str | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        """``public_key``: the cloud's signing key from ``[cloud] public_key``; None pins
        the key the cloud names at first contact. ``on_change`` is called after a
        registry with another version was put in force."""
        self.gateway_id = gateway_id
        self.config = config
        self.public_key = public_key
        self.client = client
        self.admission = admission
        self.on_change = on_change
        self.registry_path = data_dir / REGISTRY_FILE
        self.pin_path = data_dir / PUBLIC_KEY_FILE
        self.etag: str | None = None
        self.sources = 0
        self.verified_us: int | None = None  # when the registry in force was last confirmed
        self.last_error: str | None = None
        self._store: RegistryStore | None = None

    def load(self) -> None:
        """Admit by the registry saved in the data dir, if it still verifies."""
        store = self._local_store()
        loaded = store.load() if store is not None else None
        if loaded is None:
            log.warning(
                "no verified registry yet: every reading is refused (no-registry) "
                "until the first pull from the cloud"
            )
            return
        registry, etag = loaded.document, loaded.etag
        if self._use(registry, etag):
            self.verified_us = int(self.registry_path.stat().st_mtime * 1_000_000)
            log.info("registry %s loaded from %s", etag, self.registry_path)

    async def start(self, first_pull_timeout: float) -> None:
        """Load the saved registry; without one, try a first pull (bounded) before devices
        are read, so a freshly installed gateway doesn't refuse its first readings."""
        self.load()
        if self.admission.has_registry:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(first_pull_timeout):
                await self.pull_once()

    async def run(self) -> None:
        while True:
            await self.pull_once()
            await asyncio.sleep(self.config.registry_interval)

    async def pull_once(self) -> bool:
        """One pull; True if the registry in force is current. Never raises for the cloud."""
        try:
            store = self._local_store() or await self._first_contact()
            pulled = await self.client.get_registry(store, self.etag)
        except (CloudUnavailable, CloudRejected, SpecError) as exc:
            if self.last_error is None:
                log.warning("registry not pulled (the last copy stays in force): %s", exc)
            self.last_error = str(exc)
            return False
        if pulled is not None:
            store.save(pulled)
            if not self._use(pulled.document, pulled.etag):
                return False
        if self.last_error is not None:
            log.info("registry pulled again")
        self.last_error = None
        self.verified_us = now_us()
        return True

    def _use(self, registry: dict[str, Any], etag: str) -> bool:
        if registry.get("gateway_id") != self.gateway_id:
            owner = registry.get("gateway_id")
            self.last_error = f"the registry is for {owner!r}, not this gateway"
            log.error("%s: not used", self.last_error)
            return False
        self.admission.use(registry)
        if etag != self.etag and self.on_change is not None:
            self.on_change()
        if etag != self.etag:
            enabled = sum(1 for entry in registry["sources"] if entry.get("enabled"))
            log.info(
                "registry %s in force: %d sources, %d enabled",
                etag,
                len(registry["sources"]),
                enabled,
            )
        self.etag = etag
        self.sources = len(registry["sources"])
        return True

    def _local_store(self) -> RegistryStore | None:
        if self._store is None:
            key = self.public_key or self._pinned()
            if key is not None:
                self._store = RegistryStore(self.registry_path, key)
        return self._store

    def _pinned(self) -> str | None:
        return pinned_key(self.pin_path.parent)

    async def _first_contact(self) -> RegistryStore:
        key = await self.client.get_public_key()
        write_atomic(self.pin_path, key.encode() + b"\n", mode=0o644)
        log.info("pinned the cloud's registry key %s in %s", key, self.pin_path)
        self._store = RegistryStore(self.registry_path, key)
        return self._store

    def status(self) -> dict[str, Any]:
        age = None if self.verified_us is None else (now_us() - self.verified_us) / 1e6
        return {
            "version": self.etag,
            "sources": self.sources if self.admission.has_registry else None,
            "verified_us": self.verified_us,
            "age_s": age,
            "last_error": self.last_error,
        }
