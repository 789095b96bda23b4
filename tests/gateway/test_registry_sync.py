"""The registry pull loop against the real cloud: first contact pins the cloud's key, the
last verified copy serves offline, and a registry that isn't this gateway's, or isn't
signed by the pinned key, is never used."""

from __future__ import annotations

import asyncio
import base64
import shutil
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edgeward.gateway.admission.policy import Admission
from edgeward.gateway.admission.registry_pull import PUBLIC_KEY_FILE, REGISTRY_FILE, RegistrySync
from edgeward.gateway.config.pipeline import AdmissionConfig
from edgeward.sync.client import CloudClient
from tests.peers.cloud import CloudServer
from tests.peers.mosquitto import free_port


def syncing(
    data_dir: Path,
    url: str,
    gateway_id: str,
    credential: str,
    public_key: str | None = None,
) -> tuple[RegistrySync, Admission]:
    admission = Admission(None)
    client = CloudClient(url, credential)
    sync = RegistrySync(gateway_id, data_dir, AdmissionConfig(), client, admission, public_key)
    return sync, admission


def pull(sync: RegistrySync) -> bool:
    async def main() -> bool:
        try:
            return await sync.pull_once()
        finally:
            await sync.client.aclose()

    return asyncio.run(main())


def other_key() -> str:
    public = Ed25519PrivateKey.generate().public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def test_first_contact_pins_then_works_offline(tmp_path: Path, api_cloud: CloudServer) -> None:
    gateway = api_cloud.add_gateway(sources=[f"meter-{tmp_path.name[-6:]}"])
    sync, admission = syncing(tmp_path, api_cloud.url, gateway.id, gateway.credential)
    sync.load()
    assert not admission.has_registry
    assert pull(sync) and admission.has_registry
    assert sync.status()["sources"] == 1 and sync.status()["version"]
    with api_cloud.client() as client:
        published = client.get("/v1/registry/public-key").json()["public_key"]
    assert (tmp_path / PUBLIC_KEY_FILE).read_text().strip() == published
    assert stat.S_IMODE((tmp_path / REGISTRY_FILE).stat().st_mode) == 0o600
    # The cloud away: the saved copy is what admits, and a failed pull changes nothing.
    offline, admission = syncing(tmp_path, f"http://127.0.0.1:{free_port()}", gateway.id, "x")
    offline.load()
    assert admission.has_registry
    assert not pull(offline) and admission.has_registry
    assert offline.status()["last_error"]


def test_a_registry_not_for_this_gateway_or_not_by_the_pinned_key_is_not_used(
    tmp_path: Path, api_cloud: CloudServer
) -> None:
    gateway = api_cloud.add_gateway(sources=[f"probe-{tmp_path.name[-6:]}"])
    first, _ = syncing(tmp_path / "a", api_cloud.url, gateway.id, gateway.credential)
    assert pull(first)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    elsewhere, admission = syncing(tmp_path / "b", api_cloud.url, "gw-000000000000", "x")
    elsewhere.load()
    assert not admission.has_registry, "another gateway's registry, though signed"
    sync, admission = syncing(
        tmp_path / "c", api_cloud.url, gateway.id, gateway.credential, other_key()
    )
    assert not pull(sync) and not admission.has_registry
    assert "not signed by the cloud" in str(sync.status()["last_error"])
    assert not (tmp_path / "c" / REGISTRY_FILE).exists()
