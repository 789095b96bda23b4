"""Uplink batches into the real cloud: bounded by bytes and age, gzip-compressed, and a
backlog drained without starving the newest readings."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from edgeward.gateway.outbox.store import NewReading, Outbox
from edgeward.gateway.outbox.uplink import Uplink
from edgeward.sync.batch import Batch, BatchAck
from edgeward.sync.client import CloudClient
from tests.peers.cloud import Account, CloudServer

VALUES = {"voltage": 230.12, "current": 12.345, "power": 2841.2, "energy": 1_000_123}


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    root = tmp_path_factory.mktemp("cloud")
    server = CloudServer(root, f"sqlite:///{root / 'cloud.db'}").start()
    try:
        yield server
    finally:
        server.stop()


class RecordingClient(CloudClient):
    """The real client; it also notes each batch's size and first and last seq."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.batches: list[tuple[int, int, int]] = []
        self.account: Account | None = None  # whose readings these are, for reading them back

    async def post_batch(self, batch: Batch) -> BatchAck:
        before = self.body_bytes
        ack = await super().post_batch(batch)
        first, last = batch.readings[0].seq, batch.readings[-1].seq
        self.batches.append((self.body_bytes - before, first, last))
        return ack


SOURCES = ("bytes-1", "backlog-1", "age-1", "live-1")


def readings(source: str, count: int, start: int = 0) -> list[NewReading]:
    return [
        NewReading(source=source, time_us=1_764_128_460_000_000 + n, values={**VALUES, "n": n})
        for n in range(start, start + count)
    ]


async def run_uplink(
    cloud: CloudServer,
    outbox: Outbox,
    done: Callable[[Uplink, RecordingClient], Awaitable[bool]],
    **options: float,
) -> RecordingClient:
    account = cloud.new_account()  # each test its own, so source names never clash
    gateway = cloud.add_gateway(account.owner_token, sources=SOURCES)
    client = RecordingClient(cloud.url, gateway.credential)
    client.account = account
    uplink = Uplink(
        gateway.id,
        client,
        outbox,
        asyncio.Event(),
        batch_max_readings=int(options.pop("batch_max_readings", 500)),
        idle_interval=0.01,
        backoff_max=0.5,
        **options,  # type: ignore[arg-type]
    )
    task = asyncio.create_task(uplink.run())
    try:
        async with asyncio.timeout(30):
            while not await done(uplink, client):
                assert not task.done(), task
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await client.aclose()
    return client


def stored_seqs(cloud: CloudServer, source: str, client: RecordingClient) -> Counter[int]:
    token = cloud.token_with("readings:GET", account=client.account)
    return Counter(int(r["seq"]) for r in cloud.all_readings(token, source))


def test_batches_stay_under_the_byte_bound_and_travel_compressed(
    cloud: CloudServer, tmp_path: Path
) -> None:
    async def main() -> tuple[RecordingClient, list[int]]:
        outbox = Outbox(tmp_path / "outbox.db")
        await outbox.open()
        try:
            await outbox.append(readings("bytes-1", 300))
            seqs = list(range(await outbox.last_seq() - 299, await outbox.last_seq() + 1))

            async def drained(_: Uplink, __: RecordingClient) -> bool:
                return await outbox.depth() == 0

            client = await run_uplink(cloud, outbox, drained, batch_max_bytes=4096)
            return client, seqs
        finally:
            await outbox.close()

    client, seqs = asyncio.run(main())
    sizes = [size for size, _, _ in client.batches]
    assert len(sizes) >= 300 * 150 // 4096
    assert max(sizes) <= 4096
    assert client.wire_bytes * 4 < client.body_bytes, "gzip on the wire"
    assert stored_seqs(cloud, "bytes-1", client) == Counter(seqs)


def test_a_backlog_drains_without_starving_the_newest_readings(
    cloud: CloudServer, tmp_path: Path
) -> None:
    async def main() -> tuple[RecordingClient, int, int]:
        outbox = Outbox(tmp_path / "outbox.db")
        await outbox.open()
        try:
            for start in range(0, 3000, 500):
                await outbox.append(readings("backlog-1", 500, start))
            newest = await outbox.last_seq()

            async def drained(_: Uplink, __: RecordingClient) -> bool:
                return await outbox.depth() == 0

            client = await run_uplink(cloud, outbox, drained, batch_max_readings=100)
            return client, newest - 2999, newest
        finally:
            await outbox.close()

    client, first, newest = asyncio.run(main())
    # The first two batches carry the oldest and the newest readings: live data does not
    # wait behind 30 batches of backlog.
    assert sorted((low, high) for _, low, high in client.batches[:2]) == [
        (first, first + 99),
        (newest - 99, newest),
    ]
    assert stored_seqs(cloud, "backlog-1", client) == Counter(range(first, newest + 1))


def test_a_short_batch_waits_up_to_its_age_for_more(cloud: CloudServer, tmp_path: Path) -> None:
    async def main() -> RecordingClient:
        outbox = Outbox(tmp_path / "outbox.db")
        await outbox.open()
        try:
            await outbox.append(readings("age-1", 5))
            appended = asyncio.Event()

            async def ten_sent(uplink: Uplink, _: RecordingClient) -> bool:
                if not appended.is_set():
                    await outbox.append(readings("age-1", 5, 5))
                    uplink.new_data.set()
                    appended.set()
                return uplink.stats.readings_sent == 10

            return await run_uplink(
                cloud, outbox, ten_sent, batch_max_readings=10, batch_max_age=30.0
            )
        finally:
            await outbox.close()

    client = asyncio.run(main())
    assert len(client.batches) == 1, "five readings did not go alone while the batch could fill"


def test_one_refused_reading_costs_only_itself(cloud: CloudServer, tmp_path: Path) -> None:
    """The cloud refuses a batch holding one reading it can't take (a time before
    1970): the uplink halves its way down to that reading, sets it aside, and
    delivers the other nine. Regression: the whole batch used to be set aside."""

    async def main() -> tuple[RecordingClient, list[int], int]:
        outbox = Outbox(tmp_path / "outbox.db")
        await outbox.open()
        try:
            batch = readings("bytes-1", 10)
            batch[6] = NewReading(source="bytes-1", time_us=-5_000_000, values=VALUES)
            await outbox.append(batch)
            last = await outbox.last_seq()
            seqs = list(range(last - 9, last + 1))

            async def drained(_: Uplink, __: RecordingClient) -> bool:
                return await outbox.depth() == 0

            client = await run_uplink(cloud, outbox, drained)
            return client, seqs, seqs[6]
        finally:
            await outbox.close()

    client, seqs, refused = asyncio.run(main())
    assert stored_seqs(cloud, "bytes-1", client) == Counter(s for s in seqs if s != refused)
    with sqlite3.connect(tmp_path / "outbox.db") as db:
        aside = [seq for (seq,) in db.execute("SELECT seq FROM rejected")]
    assert aside == [refused]


def test_a_cloud_refusing_everything_does_not_empty_the_outbox(
    cloud: CloudServer, tmp_path: Path
) -> None:
    """All readings refused (here: all before 1970): at most MAX_REFUSED_IN_A_ROW are
    set aside, the rest wait in the outbox for the cloud to take them again."""
    from edgeward.gateway.outbox.uplink import MAX_REFUSED_IN_A_ROW

    async def main() -> tuple[int, int]:
        outbox = Outbox(tmp_path / "outbox.db")
        await outbox.open()
        try:
            bad = [
                NewReading(source="bytes-1", time_us=-5_000_000 - n, values=VALUES)
                for n in range(60)
            ]
            await outbox.append(bad)

            async def stuck(uplink: Uplink, _: RecordingClient) -> bool:
                return uplink.stats.failures > 0

            await run_uplink(cloud, outbox, stuck)
            with sqlite3.connect(tmp_path / "outbox.db") as db:
                (aside,) = db.execute("SELECT count(*) FROM rejected").fetchone()
            return aside, await outbox.depth()
        finally:
            await outbox.close()

    aside, waiting = asyncio.run(main())
    assert aside == MAX_REFUSED_IN_A_ROW
    assert waiting == 60 - MAX_REFUSED_IN_A_ROW


def test_data_dropped_under_the_quota_is_reported_to_the_cloud(
    cloud: CloudServer, tmp_path: Path
) -> None:
    """The "data dropped" event recorded under the disk quota reaches the cloud at its
    full count."""

    async def main() -> tuple[RecordingClient, int]:
        outbox = Outbox(tmp_path / "outbox.db", max_bytes=16 * 1024)
        await outbox.open()
        try:
            for start in range(0, 600, 20):
                await outbox.append(readings("bytes-1", 20, start))
            dropped = (await outbox.stats()).dropped_total

            async def reported(_: Uplink, __: RecordingClient) -> bool:
                return await outbox.depth() == 0 and not await outbox.unreported_events()

            client = await run_uplink(cloud, outbox, reported)
            return client, dropped
        finally:
            await outbox.close()

    client, dropped = asyncio.run(main())
    assert dropped > 0
    owner = client.account
    assert owner is not None
    with cloud.client(owner.owner_token) as api:
        (gateway,) = api.get("/v1/gateways").json()["items"]
        events = api.get(f"/v1/gateways/{gateway['id']}/events").json()["items"]
    assert [(e["kind"], e["count"]) for e in events] == [("data_dropped", dropped)]
