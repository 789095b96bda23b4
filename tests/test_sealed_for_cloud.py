"""Reports sealed for the cloud, end to end with the real cloud: the gateway proves the
sender from a registry it pulled and verified, keeps the report sealed in its outbox,
and only the cloud reads it; forgeries and replays are refused at both ends."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from edgeward.drivers.base import Reading
from edgeward.gateway.admission.policy import Admission
from edgeward.gateway.outbox.store import NewReading, Outbox
from edgeward.gateway.outbox.uplink import Uplink
from edgeward.sync import reports
from edgeward.sync.batch import Batch, BatchAck, WireReading
from edgeward.sync.client import CloudClient
from edgeward.sync.clock import now_us
from edgeward.sync.signed_documents import RegistryStore
from tests.peers.cloud import Account, CloudServer, RegisteredGateway

SPEC = {
    "transport": "mqtt",
    "auth_mode": "sealed",
    "sealed_for": "cloud",
    "decoder": {
        "format": "json",
        "fields": [{"name": "temperature", "path": "t"}, {"name": "humidity", "path": "h"}],
    },
    "fields": {
        "temperature": {"unit": "C", "min": -40, "max": 85},
        "humidity": {"unit": "%", "min": 0, "max": 100},
    },
}
# Numbers unlikely to turn up by chance in a few kilobytes of ciphertext.
PAYLOAD = b'{"t": 23.4567, "h": 41.2389}'
VALUES = {"temperature": 23.4567, "humidity": 41.2389}


@dataclass
class Site:
    cloud: CloudServer
    account: Account
    gateway: RegisteredGateway
    source: str
    source_id: str
    key: bytes
    origin: str

    def seal(self, counter: int, payload: bytes = PAYLOAD, key: bytes | None = None) -> bytes:
        nonce = secrets.token_bytes(12)
        return reports.seal_for_cloud(payload, self.source, counter, key or self.key, nonce)

    def reading(self, raw: bytes) -> Reading:
        return Reading(self.source, raw, datetime.now(UTC), self.origin)

    def stored(self) -> list[dict[str, Any]]:
        token = self.cloud.token_with("readings:GET", account=self.account)
        return self.cloud.all_readings(token, self.source)

    def events(self) -> dict[str, int]:
        token = self.cloud.token_with("security-events:GET", account=self.account)
        with self.cloud.client(token) as client:
            response = client.get("/v1/security-events", params={"source": self.source})
        return {e["reason"]: e["count"] for e in response.raise_for_status().json()["items"]}


def new_site(cloud: CloudServer) -> Site:
    """An account with a sealed-for-cloud MQTT type, a gateway and one source, via the API."""
    account = cloud.new_account()
    name = f"probe-{secrets.token_hex(3)}"
    with cloud.client(account.owner_token) as client:
        kind = client.post("/v1/data-source-types", json={"name": "sealed", "spec": SPEC})
        gateway = cloud.add_gateway(account.owner_token)
        created = client.post(
            "/v1/data-sources",
            json={
                "name": name,
                "type_id": kind.raise_for_status().json()["id"],
                "gateway_id": gateway.id,
                "binding": {"topic": f"site/{name}"},
            },
        )
    body = created.raise_for_status().json()
    key = base64.b64decode(body["key"])
    return Site(cloud, account, gateway, name, body["id"], key, f"mqtt://broker/site/{name}")


async def pulled_admission(site: Site, store_path: Path) -> Admission:
    with site.cloud.client() as client:
        public_key = client.get("/v1/registry/public-key").json()["public_key"]
    store = RegistryStore(store_path, public_key)
    async with CloudClient(site.cloud.url, site.gateway.credential) as client:
        pulled = await client.get_registry(store, None)
    assert pulled is not None
    store.save(pulled)  # as the gateway's registry pull does
    return Admission(pulled.document)


def disk_bytes(*paths: Path) -> bytes:
    """Every byte of these files and their SQLite companions (WAL, shared memory, journal)."""
    found = b""
    for path in paths:
        for suffix in ("", "-wal", "-shm", "-journal"):
            candidate = path.with_name(path.name + suffix)
            if candidate.exists():
                found += candidate.read_bytes()
    return found


def secrets_of(site: Site) -> list[bytes]:
    """What must never be on the gateway's disk: the payload, its values, the keys that open it."""
    encryption = reports.encryption_key(site.key)
    texts = [PAYLOAD, b"23.4567", b"41.2389"]
    for key in (site.key, encryption):
        texts += [key, base64.b64encode(key), key.hex().encode()]
    return texts


def test_a_sealed_report_is_read_by_the_cloud_and_never_in_plaintext_on_the_gateway(
    api_cloud: CloudServer, tmp_path: Path
) -> None:
    site = new_site(api_cloud)

    async def main() -> tuple[dict[str, Any], bytes]:
        admission = await pulled_admission(site, tmp_path / "registry.json")
        admitted = admission.admit(site.reading(site.seal(1)))
        assert admitted is not None, admission.rejections.counts
        outbox = Outbox(tmp_path / "outbox.db")
        await outbox.open()
        client = CloudClient(site.cloud.url, site.gateway.credential)
        try:
            await outbox.append([NewReading(site.source, now_us(), admitted.values)])
            (pending,) = await outbox.pending(10)  # what the gateway itself can read back
            on_disk = disk_bytes(tmp_path / "outbox.db", tmp_path / "registry.json")
            uplink = Uplink(
                site.gateway.id,
                client,
                outbox,
                asyncio.Event(),
                batch_max_readings=100,
                idle_interval=0.01,
                backoff_max=0.5,
            )
            await uplink.flush(asyncio.get_running_loop().time() + 30)
            assert await outbox.depth() == 0
        finally:
            await client.aclose()
            await outbox.close()
        return pending.values, on_disk

    held, on_disk = asyncio.run(main())
    saved = json.loads(json.loads((tmp_path / "registry.json").read_text())["body"])
    (entry,) = saved["sources"]
    assert entry["key"] is None, "the registry never gives the gateway the source key"
    assert base64.b64decode(entry["auth_key"]) == reports.authentication_key(site.key)
    assert set(held) == {"sealed"}, "the gateway holds the envelope, never decoded values"
    assert not any(text in json.dumps(held).encode() for text in secrets_of(site)[:3])
    assert len(on_disk) > 4096, "the outbox and the registry were read"
    for text in secrets_of(site):
        assert text not in on_disk, text
    assert site.events() == {}
    (stored,) = site.stored()
    assert stored["values"] == VALUES


def test_forgeries_and_replays_are_refused_by_the_gateway_with_their_reasons(
    api_cloud: CloudServer, tmp_path: Path
) -> None:
    site = new_site(api_cloud)
    admission = asyncio.run(pulled_admission(site, tmp_path / "registry.json"))
    good = site.seal(7)
    document = json.loads(good)
    forged_tag = {**document, "tag": base64.b64encode(secrets.token_bytes(32)).decode()}
    cases = {
        "forged tag": json.dumps(forged_tag).encode(),
        "tampered ciphertext": tampered(good),
        "wrong key": site.seal(8, key=secrets.token_bytes(32)),
    }
    for name, raw in cases.items():
        assert admission.admit(site.reading(raw)) is None, name
    assert admission.admit(site.reading(good)) is not None
    assert admission.admit(site.reading(good)) is None, "replayed"
    assert dict(admission.rejections.counts) == {
        (site.source, "bad-signature"): 3,
        (site.source, "replay"): 1,
    }


def tampered(envelope: bytes) -> bytes:
    document = json.loads(envelope)
    ciphertext = bytearray(base64.b64decode(document["ciphertext"]))
    ciphertext[-1] ^= 0x80
    return json.dumps({**document, "ciphertext": base64.b64encode(ciphertext).decode()}).encode()


def post(site: Site, *values: dict[str, Any]) -> BatchAck:
    """What a gateway that skipped admission (or was taken over) sends: straight to ingest."""
    base = now_us()
    readings = tuple(
        WireReading(base + n, site.source, datetime.now(UTC), value)
        for n, value in enumerate(values)
    )

    async def send() -> BatchAck:
        async with CloudClient(site.cloud.url, site.gateway.credential) as client:
            return await client.post_batch(Batch(site.gateway.id, readings))

    return asyncio.run(send())


def sealed(raw: bytes) -> dict[str, Any]:
    return {"sealed": base64.b64encode(raw).decode()}


def test_the_cloud_refuses_forgeries_and_replays_whatever_the_gateway_let_through(
    api_cloud: CloudServer,
) -> None:
    site = new_site(api_cloud)
    first = site.seal(1)
    forged_tag = {**json.loads(site.seal(2)), "tag": base64.b64encode(b"\0" * 32).decode()}
    ack = post(
        site,
        sealed(first),
        sealed(first),  # replayed under another seq
        sealed(json.dumps(forged_tag).encode()),
        sealed(site.seal(3, key=secrets.token_bytes(32))),  # wrong key
        sealed(tampered(site.seal(4))),
        sealed(site.seal(5, payload=b'{"t": 999, "h": 1}')),  # decodes, out of range
        sealed(site.seal(6, payload=b"garbage")),
        {"temperature": 20.0, "humidity": 30.0},  # plaintext for a sealed source
        {"sealed": "not base64!"},
    )
    assert (ack.stored, ack.rejected, ack.duplicates) == (1, 8, 0)
    assert [r["values"] for r in site.stored()] == [VALUES]
    assert site.events() == {
        "replay": 1,
        "bad-signature": 3,
        "out-of-range": 1,
        "undecodable": 1,
        "not-sealed": 1,
        "malformed": 1,
    }


def test_a_resent_batch_is_a_duplicate_not_a_replay(api_cloud: CloudServer) -> None:
    site = new_site(api_cloud)
    reading = WireReading(now_us(), site.source, datetime.now(UTC), sealed(site.seal(1)))

    async def send_twice() -> list[BatchAck]:
        async with CloudClient(site.cloud.url, site.gateway.credential) as client:
            return [await client.post_batch(Batch(site.gateway.id, (reading,))) for _ in range(2)]

    first, again = asyncio.run(send_twice())
    assert (first.stored, again.duplicates, again.rejected) == (1, 1, 0)
    assert site.events() == {}


def test_a_rotated_key_opens_new_reports_only_and_starts_the_counters_afresh(
    api_cloud: CloudServer,
) -> None:
    site = new_site(api_cloud)
    old = site.seal(1)
    assert post(site, sealed(old)).stored == 1
    with api_cloud.client(site.account.owner_token) as client:
        rotated = client.post(f"/v1/data-sources/{site.source_id}/rotate-credentials", json={})
    old_key, site.key = site.key, base64.b64decode(rotated.raise_for_status().json()["key"])
    ack = post(site, sealed(old), sealed(site.seal(1)), sealed(site.seal(2, key=old_key)))
    assert (ack.stored, ack.rejected) == (1, 2)
    assert site.events() == {"bad-signature": 2}


def test_a_sealed_backlog_drained_out_of_order_is_stored_whole(
    api_cloud: CloudServer, tmp_path: Path
) -> None:
    """The uplink sends a backlog's newest batches between its oldest: counters reach the
    cloud out of order, and none of them is a replay."""
    site = new_site(api_cloud)
    count = 60

    async def main() -> None:
        admission = await pulled_admission(site, tmp_path / "registry.json")
        outbox = Outbox(tmp_path / "outbox.db")
        await outbox.open()
        client = CloudClient(site.cloud.url, site.gateway.credential)
        admitted = [admission.admit(site.reading(site.seal(n))) for n in range(1, count + 1)]
        await outbox.append([NewReading(site.source, now_us(), a.values) for a in admitted if a])
        uplink = Uplink(
            site.gateway.id,
            client,
            outbox,
            asyncio.Event(),
            batch_max_readings=7,
            idle_interval=0.01,
            backoff_max=0.5,
        )
        task = asyncio.create_task(uplink.run())
        try:
            async with asyncio.timeout(60):
                while await outbox.depth():
                    assert not task.done(), task
                    await asyncio.sleep(0.01)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await client.aclose()
            await outbox.close()

    asyncio.run(main())
    assert len(site.stored()) == count
    assert site.events() == {}


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (
            {
                **SPEC,
                "transport": "modbus",
                "decoder": {"registers": [{"name": "a", "address": 0, "type": "int16"}]},
                "fields": {},
            },
            "spec.sealed_for",
        ),
        (
            {
                **SPEC,
                "transport": "ble",
                "decoder": {
                    "characteristics": [
                        {"uuid": "2a6e", "layout": [{"name": "a", "type": "int16"}]},
                        {"uuid": "2a6f", "layout": [{"name": "b", "type": "int16"}]},
                    ]
                },
                "fields": {},
            },
            "spec.decoder.characteristics",
        ),
    ],
)
def test_types_the_cloud_could_not_decode_are_refused(
    api_cloud: CloudServer, spec: dict[str, Any], field: str
) -> None:
    account = api_cloud.new_account()
    with api_cloud.client(account.owner_token) as client:
        response = client.post("/v1/data-source-types", json={"name": "x", "spec": spec})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
