"""Pulling the registry from the real cloud through the gateway's client: verified, kept
on disk 0600, 304 when unchanged, and a forged or tampered registry never used."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path
from typing import Any

import pytest

from edgeward.sync.client import CloudClient
from edgeward.sync.registry import SpecError
from edgeward.sync.signed_documents import RegistryStore, Signed
from tests.peers.cloud import CloudServer


def public_key(cloud: CloudServer) -> str:
    with cloud.client() as client:
        return str(client.get("/v1/registry/public-key").json()["public_key"])


def test_pull_verify_keep_and_304(tmp_path: Path, api_cloud: CloudServer) -> None:
    gateway = api_cloud.add_gateway(sources=[f"meter-{tmp_path.name[-6:]}"])
    store = RegistryStore(tmp_path / "registry.json", public_key(api_cloud))

    async def main() -> tuple[Signed[dict[str, Any]] | None, Signed[dict[str, Any]] | None]:
        async with CloudClient(api_cloud.url, gateway.credential) as client:
            first = await client.get_registry(store, None)
            assert first is not None
            assert not store.path.exists(), "the client verifies; the caller saves"
            store.save(first)
            again = await client.get_registry(store, first.etag)
        return first, again

    first, again = asyncio.run(main())
    assert first is not None
    registry = first.document
    assert registry["gateway_id"] == gateway.id and len(registry["sources"]) == 1
    assert again is None, "unchanged: 304"
    assert stat.S_IMODE((tmp_path / "registry.json").stat().st_mode) == 0o600
    loaded = store.load()
    assert loaded is not None and loaded.document == registry


def test_a_tampered_saved_registry_is_ignored(tmp_path: Path, api_cloud: CloudServer) -> None:
    gateway = api_cloud.add_gateway(sources=[f"probe-{tmp_path.name[-6:]}"])
    store = RegistryStore(tmp_path / "registry.json", public_key(api_cloud))

    async def main() -> None:
        async with CloudClient(api_cloud.url, gateway.credential) as client:
            pulled = await client.get_registry(store, None)
            assert pulled is not None
            store.save(pulled)

    asyncio.run(main())
    saved = json.loads(store.path.read_text())
    saved["body"] = saved["body"].replace('"enabled":true', '"enabled":false')
    store.path.write_text(json.dumps(saved))
    assert store.load() is None


def test_a_registry_signed_by_another_key_is_refused(
    tmp_path: Path, api_cloud: CloudServer
) -> None:
    gateway = api_cloud.add_gateway()
    other_key = "A" * 43 + "="  # a valid-looking 32-byte key that did not sign it
    store = RegistryStore(tmp_path / "registry.json", other_key)

    async def main() -> None:
        async with CloudClient(api_cloud.url, gateway.credential) as client:
            await client.get_registry(store, None)

    with pytest.raises(SpecError):
        asyncio.run(main())
    assert not store.path.exists()
