"""The backlog's disk quota: drop_oldest keeps the newest and counts what it dropped;
stop_reading refuses new readings until the uplink makes room."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edgeward.gateway.errors import OutboxFull
from edgeward.gateway.outbox.store import NewReading, Outbox
from tests.gateway.outbox import with_outbox

QUOTA = 20_000


def reading(n: int) -> NewReading:
    return NewReading(
        source="meter-1",
        time_us=1_764_128_460_000_000 + n,
        values={"n": n, "voltage": 230.0 + n / 100, "energy": 1_000_000 + n},
    )


def test_drop_oldest_keeps_the_backlog_under_quota_and_counts_the_drops(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    total = 2000

    async def test(outbox: Outbox) -> tuple[Any, ...]:
        for start in range(0, total, 10):
            await outbox.append([reading(n) for n in range(start, start + 10)])
            assert (await outbox.stats()).backlog_bytes <= QUOTA
        kept = [r.values["n"] for r in await outbox.pending(total)]
        return kept, await outbox.stats(), await outbox.events()

    kept, stats, events = with_outbox(path, test, max_bytes=QUOTA)
    assert 0 < len(kept) < total
    assert kept == list(range(total - len(kept), total)), "the newest readings are kept, in order"
    assert stats.depth == len(kept)
    assert stats.dropped_total == total - len(kept)
    assert not stats.full
    # One record for the whole episode, not one per commit.
    assert [(e["kind"], e["count"]) for e in events] == [("data_dropped", total - len(kept))]
    assert events[0]["first_seq"] == stats.first_seq + 1
    assert events[0]["last_seq"] == stats.first_seq + total - len(kept)

    async def reopened(outbox: Outbox) -> tuple[int, int]:
        fresh = await outbox.stats()
        return fresh.backlog_bytes, fresh.dropped_total

    # The byte count is recomputed from the file at open and agrees with the running one.
    assert with_outbox(path, reopened, max_bytes=QUOTA) == (
        stats.backlog_bytes,
        stats.dropped_total,
    )


def test_stop_reading_refuses_new_readings_until_there_is_room(tmp_path: Path) -> None:
    async def test(outbox: Outbox) -> tuple[Any, ...]:
        taken = 0
        with pytest.raises(OutboxFull):
            while True:
                await outbox.append([reading(n) for n in range(taken, taken + 10)])
                taken += 10
        depth_when_full = await outbox.depth()
        full = await outbox.stats()
        with pytest.raises(OutboxFull):  # still full: nothing of the group is taken on a retry
            await outbox.append([reading(n) for n in range(taken, taken + 10)])
        assert await outbox.depth() == depth_when_full
        oldest = await outbox.pending(50)
        await outbox.remove_through(oldest[0].seq, oldest[-1].seq)  # the uplink made room
        await outbox.append([reading(taken)])
        after = await outbox.stats()
        kept = [r.values["n"] for r in await outbox.pending(10_000)]
        return taken, depth_when_full, full, after, kept, await outbox.events()

    taken, depth_when_full, full, after, kept, events = with_outbox(
        tmp_path / "outbox.db", test, max_bytes=QUOTA, full_policy="stop_reading"
    )
    assert depth_when_full == taken
    assert full.full and full.dropped_total == 0
    assert not after.full
    assert kept == [*range(50, taken), taken], "nothing old was dropped"
    assert [e["kind"] for e in events] == ["reading_stopped"]
