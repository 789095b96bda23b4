"""The durable outbox: sequence numbers, pending order, deletion, rejection, durability."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from edgeward.gateway.errors import OutboxError
from edgeward.gateway.outbox.data_keys import Keyring
from edgeward.gateway.outbox.store import NewReading, Outbox, StoredReading
from edgeward.sync.clock import now_us
from tests.gateway.outbox import with_outbox


def reading(n: int, source: str = "meter-1") -> NewReading:
    return NewReading(
        source=source, time_us=1_764_128_460_000_000 + n, values={"n": n, "v": n / 4, "ok": True}
    )


def rows(path: Path, query: str, *params: object) -> list[tuple[object, ...]]:
    """Read with a connection of our own, as another process would."""
    db = sqlite3.connect(path)
    try:
        return db.execute(query, params).fetchall()
    finally:
        db.close()


def test_append_returns_the_highest_sequence(tmp_path: Path) -> None:
    async def test(outbox: Outbox) -> list[int]:
        base = await outbox.last_seq()
        return [
            await outbox.append([reading(1)]) - base,
            await outbox.append([reading(2), reading(3), reading(4)]) - base,
            await outbox.append([reading(5)]) - base,
            await outbox.last_seq() - base,
            await outbox.depth(),
        ]

    assert with_outbox(tmp_path / "outbox.db", test) == [1, 4, 5, 5, 5]


def test_a_fresh_outbox_starts_its_sequence_above_the_clock(tmp_path: Path) -> None:
    """Regression guard: a replaced outbox restarting at 1 would be dropped as duplicates."""

    async def test(outbox: Outbox) -> tuple[int, int]:
        return await outbox.last_seq(), (await outbox.stats()).first_seq

    before = now_us()
    last, first = with_outbox(tmp_path / "outbox.db", test)
    assert last == first >= before


def test_pending_is_in_sequence_order_with_values(tmp_path: Path) -> None:
    async def test(outbox: Outbox) -> tuple[int, list[StoredReading], list[StoredReading]]:
        base = await outbox.last_seq()
        await outbox.append([reading(1, "meter-b"), reading(2, "meter-a")])
        await outbox.append([reading(3, "meter-b")])
        return base, await outbox.pending(10), await outbox.pending(2)

    base, everything, first_two = with_outbox(tmp_path / "outbox.db", test)
    assert everything == [
        StoredReading(base + 1, "meter-b", 1_764_128_460_000_001, {"n": 1, "v": 0.25, "ok": True}),
        StoredReading(base + 2, "meter-a", 1_764_128_460_000_002, {"n": 2, "v": 0.5, "ok": True}),
        StoredReading(base + 3, "meter-b", 1_764_128_460_000_003, {"n": 3, "v": 0.75, "ok": True}),
    ]
    assert first_two == everything[:2]
    # JSON keeps the types: bool stays bool, int stays int.
    assert everything[0].values["ok"] is True
    assert type(everything[0].values["n"]) is int


def test_pending_newest_gives_the_tail_in_sequence_order(tmp_path: Path) -> None:
    async def test(outbox: Outbox) -> list[int]:
        await outbox.append([reading(n) for n in range(1, 8)])
        return [r.values["n"] for r in await outbox.pending(3, newest=True)]

    assert with_outbox(tmp_path / "outbox.db", test) == [5, 6, 7]


def test_pending_on_an_empty_outbox_is_empty(tmp_path: Path) -> None:
    async def test(outbox: Outbox) -> tuple[list[StoredReading], int]:
        return await outbox.pending(10), await outbox.depth()

    assert with_outbox(tmp_path / "outbox.db", test) == ([], 0)


def test_remove_through_deletes_only_that_range(tmp_path: Path) -> None:
    async def test(outbox: Outbox) -> tuple[list[int], int]:
        base = await outbox.last_seq()
        await outbox.append([reading(n) for n in range(1, 8)])
        await outbox.remove_through(base + 3, base + 5)
        return [r.seq - base for r in await outbox.pending(100)], await outbox.depth()

    assert with_outbox(tmp_path / "outbox.db", test) == ([1, 2, 6, 7], 4)


def test_remove_through_of_an_absent_range_deletes_nothing(tmp_path: Path) -> None:
    async def test(outbox: Outbox) -> list[int]:
        await outbox.append([reading(n) for n in range(1, 4)])
        await outbox.remove_through(10, 20)
        await outbox.remove_through(3, 2)  # an empty range
        return [r.values["n"] for r in await outbox.pending(100)]

    assert with_outbox(tmp_path / "outbox.db", test) == [1, 2, 3]


def test_sequences_are_never_reused_after_delete_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"

    async def first_run(outbox: Outbox) -> int:
        highest = await outbox.append([reading(n) for n in range(1, 4)])
        await outbox.remove_through(1, highest)  # everything acknowledged
        assert await outbox.depth() == 0
        return highest

    async def second_run(outbox: Outbox) -> tuple[int, int, list[int]]:
        before = await outbox.last_seq()
        highest = await outbox.append([reading(4), reading(5)])
        return before, highest, [r.seq for r in await outbox.pending(10)]

    highest = with_outbox(path, first_run)
    assert with_outbox(path, second_run) == (
        highest,
        highest + 2,
        [highest + 1, highest + 2],
    )


def test_sequences_are_never_reused_after_reject_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"

    async def first_run(outbox: Outbox) -> tuple[int, int]:
        highest = await outbox.append([reading(1), reading(2)])
        return highest, await outbox.reject(1, highest, "bad batch", 1)

    async def second_run(outbox: Outbox) -> int:
        return await outbox.append([reading(3)])

    highest, moved = with_outbox(path, first_run)
    assert moved == 2
    assert with_outbox(path, second_run) == highest + 1
    assert rows(path, "SELECT seq FROM rejected ORDER BY seq") == [(highest - 1,), (highest,)]
    assert rows(path, "SELECT seq FROM readings") == [(highest + 1,)]


def test_reject_moves_the_range_to_the_rejected_table_still_sealed(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"

    async def test(outbox: Outbox) -> tuple[int, int, list[int]]:
        base = await outbox.last_seq()
        await outbox.append([reading(n) for n in range(1, 6)])
        moved = await outbox.reject(
            base + 2, base + 4, "cloud refused the batch (422 invalid)", 1_234_567
        )
        return base, moved, [r.seq - base for r in await outbox.pending(100)]

    base, moved, still_pending = with_outbox(path, test)
    assert moved == 3
    assert still_pending == [1, 5]
    rejected = rows(path, "SELECT seq, key_id, sealed, reason, rejected_us FROM rejected")
    assert [row[0] for row in rejected] == [base + 2, base + 3, base + 4]
    keyring = Keyring.load_or_create(tmp_path / "outbox.keys")
    for seq, key_id, sealed, reason, rejected_us in rejected:
        assert isinstance(seq, int) and isinstance(key_id, int) and isinstance(sealed, bytes)
        source, time_us, values = json.loads(keyring.open(seq, key_id, sealed))
        assert source == "meter-1"
        assert time_us == 1_764_128_460_000_000 + seq - base
        assert values == {"n": seq - base, "v": (seq - base) / 4, "ok": True}
        assert reason == "cloud refused the batch (422 invalid)"
        assert rejected_us == 1_234_567


def test_reject_of_an_absent_range_moves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"

    async def test(outbox: Outbox) -> tuple[int, int]:
        await outbox.append([reading(1)])
        return await outbox.reject(5, 9, "nothing there", 1), await outbox.depth()

    assert with_outbox(path, test) == (0, 1)
    assert rows(path, "SELECT count(*) FROM rejected") == [(0,)]


def test_outbox_file_is_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"

    async def test(outbox: Outbox) -> None:
        await outbox.append([reading(1)])

    with_outbox(path, test)
    assert rows(path, "PRAGMA journal_mode") == [("wal",)]


@pytest.mark.parametrize(("option", "level"), [("full", 2), ("normal", 1)])
def test_synchronous_setting_is_applied(tmp_path: Path, option: str, level: int) -> None:
    async def test(outbox: Outbox) -> int:
        def synchronous() -> int:
            connection = outbox._connection
            assert connection is not None
            (value,) = connection.execute("PRAGMA synchronous").fetchone()
            return int(value)

        return await outbox._run(synchronous)

    assert with_outbox(tmp_path / "outbox.db", test, synchronous=option) == level


def test_default_synchronous_is_full(tmp_path: Path) -> None:
    async def test(outbox: Outbox) -> int:
        connection = outbox._connection
        assert connection is not None
        return await outbox._run(
            lambda: int(connection.execute("PRAGMA synchronous").fetchone()[0])
        )

    assert with_outbox(tmp_path / "outbox.db", test) == 2


def test_committed_reading_is_visible_to_another_connection_at_once(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"

    async def test(outbox: Outbox) -> None:
        keyring = Keyring.load_or_create(tmp_path / "outbox.keys")
        for n in range(1, 4):
            seq = await outbox.append([reading(n)])
            # No waiting: the commit happened before append returned.
            seen = rows(path, "SELECT seq, key_id, sealed FROM readings WHERE seq = ?", seq)
            assert len(seen) == 1
            _, key_id, sealed = seen[0]
            assert isinstance(key_id, int) and isinstance(sealed, bytes)
            source, time_us, values = json.loads(keyring.open(seq, key_id, sealed))
            assert (source, time_us) == ("meter-1", 1_764_128_460_000_000 + n)
            assert values["n"] == n

    with_outbox(path, test)


def test_open_creates_missing_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "var" / "lib" / "edgeward" / "outbox.db"

    async def test(outbox: Outbox) -> int:
        await outbox.append([reading(1)])
        return await outbox.depth()

    assert with_outbox(path, test) == 1
    assert path.exists()


def test_using_an_outbox_that_is_not_open_raises_outbox_error(tmp_path: Path) -> None:
    async def main() -> None:
        outbox = Outbox(tmp_path / "outbox.db")
        try:
            with pytest.raises(OutboxError, match="not open"):
                await outbox.append([reading(1)])
            with pytest.raises(OutboxError, match="not open"):
                await outbox.pending(10)
        finally:
            await outbox.close()

    asyncio.run(main())
    assert not (tmp_path / "outbox.db").exists()


def test_an_unopenable_file_raises_outbox_error(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    path.mkdir()  # a directory where the database file should be

    async def main() -> None:
        outbox = Outbox(path)
        try:
            with pytest.raises(OutboxError, match="cannot open outbox"):
                await outbox.open()
        finally:
            await outbox.close()

    asyncio.run(main())


def test_a_failed_append_takes_nothing_and_leaves_the_outbox_usable(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"

    async def test(outbox: Outbox) -> tuple[int, list[tuple[int, int]]]:
        base = await outbox.last_seq()
        await outbox.append([reading(1)])
        # Another connection holds the write lock: the append cannot commit.
        blocker = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            blocker.execute("BEGIN IMMEDIATE")
            connection = outbox._connection
            assert connection is not None
            await outbox._run(connection.execute, "PRAGMA busy_timeout = 0")
            with pytest.raises(OutboxError, match="cannot commit"):
                await outbox.append([reading(2), reading(3)])
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        highest = await outbox.append([reading(4)])
        return highest - base, [(r.seq - base, r.values["n"]) for r in await outbox.pending(10)]

    # Neither reading 2 nor 3 was taken, and the rolled-back attempt left no gap.
    assert with_outbox(path, test) == (2, [(1, 1), (2, 4)])
