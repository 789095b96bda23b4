"""A corrupt outbox file is moved aside and replaced; sequences never restart."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edgeward.gateway.errors import OutboxCorrupt
from edgeward.gateway.outbox.store import NewReading, Outbox
from tests.gateway.outbox import with_outbox


def reading(n: int) -> NewReading:
    return NewReading(source="meter-1", time_us=1_764_128_460_000_000 + n, values={"n": n})


def fill(path: Path, readings: int, **options: Any) -> int:
    async def test(outbox: Outbox) -> int:
        return await outbox.append([reading(n) for n in range(readings)])

    return with_outbox(path, test, **options)


def garbage_over(path: Path, offset: int = 0, length: int | None = None) -> None:
    size = path.stat().st_size
    length = size - offset if length is None else length
    with path.open("r+b") as handle:
        handle.seek(offset)
        handle.write(os.urandom(length))


def corrupt_files(path: Path) -> list[Path]:
    """The moved-aside outbox files (their -wal and -shm go along, under the same stamp)."""
    return sorted(
        p
        for p in path.parent.glob(f"{path.name}.corrupt-*")
        if not p.name.endswith(("-wal", "-shm"))
    )


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda p: garbage_over(p), id="whole-file"),
        pytest.param(lambda p: garbage_over(p, offset=4096, length=3 * 4096), id="pages-2-4"),
    ],
)
def test_a_corrupt_file_is_moved_aside_and_a_fresh_one_continues_the_sequence(
    tmp_path: Path, damage: Callable[[Path], None]
) -> None:
    path = tmp_path / "outbox.db"
    highest = fill(path, 2000)
    damage(path)

    async def after(outbox: Outbox) -> tuple[int, list[dict[str, Any]], tuple[str, ...]]:
        seq = await outbox.append([reading(1)])
        return seq, await outbox.events(), (await outbox.stats()).quarantined

    seq, events, quarantined = with_outbox(path, after)
    assert seq > highest, "the cloud would drop a reused sequence as a duplicate"
    moved = corrupt_files(path)
    assert [p.name for p in moved] == list(quarantined)
    assert len(moved) == 1 and moved[0].stat().st_size > 0
    assert [e["kind"] for e in events] == ["outbox_quarantined"]
    assert moved[0].name in events[0]["detail"]
    assert sqlite3.connect(path).execute("PRAGMA quick_check").fetchone() == ("ok",)


def test_a_file_that_is_damaged_while_running_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"

    async def test(outbox: Outbox) -> tuple[int, int]:
        before = await outbox.append([reading(n) for n in range(500)])
        connection = outbox._connection
        assert connection is not None
        await outbox._run(connection.execute, "PRAGMA wal_checkpoint(TRUNCATE)")
        garbage_over(path)
        # Drop the connection's page cache, so the next query reads the damaged pages.
        await outbox._run(connection.execute, "PRAGMA shrink_memory")
        with pytest.raises(OutboxCorrupt, match="fresh outbox"):
            await outbox.pending(1000)
        after = await outbox.append([reading(1)])
        return before, after

    before, after = with_outbox(path, test)
    assert after > before
    assert len(corrupt_files(path)) == 1


def test_an_unopenable_path_is_not_mistaken_for_corruption(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    path.mkdir()

    async def main() -> None:
        outbox = Outbox(path)
        try:
            with pytest.raises(Exception, match="cannot open outbox"):
                await outbox.open()
        finally:
            await outbox.close()

    asyncio.run(main())
    assert path.is_dir() and not corrupt_files(path)


def test_with_the_clock_behind_a_fresh_outbox_still_continues_above_the_old_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A box without an RTC can boot near 1970: the time-based floor is then no floor,
    and only the damaged file's own highest sequence keeps numbers from restarting."""
    path = tmp_path / "outbox.db"
    highest = fill(path, 500)
    garbage_over(path, offset=4096 * 2, length=4096 * 3)  # pages 2-4: the header survives
    monkeypatch.setattr("edgeward.gateway.outbox.database_file.now_us", lambda: 1_000)

    async def after(outbox: Outbox) -> int:
        return await outbox.append([reading(1)])

    assert with_outbox(path, after) > highest


def test_a_deleted_outbox_does_not_restart_the_sequence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression (review): an outbox deleted with the clock behind restarted its numbers,
    and the cloud would have dropped the new readings as duplicates."""
    path = tmp_path / "outbox.db"
    highest = fill(path, 100)
    for leftover in path.parent.glob("outbox.db*"):
        if leftover.name != "outbox.db.seq":
            leftover.unlink()
    monkeypatch.setattr("edgeward.gateway.outbox.database_file.now_us", lambda: 1_000)

    async def after(outbox: Outbox) -> int:
        return await outbox.append([reading(1)])

    assert with_outbox(path, after) > highest
