"""stop_reading end to end inside the gateway: a full outbox holds the writer, the
bounded queue then holds the pollers, and reading resumes once the uplink makes room."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from edgeward.gateway.outbox.store import NewReading, Outbox
from edgeward.gateway.outbox.writer import OutboxWriter


def reading(n: int) -> NewReading:
    return NewReading(source="meter-1", time_us=1_764_128_460_000_000 + n, values={"n": n})


@pytest.mark.slow
def test_a_full_outbox_holds_the_writer_and_then_the_queue(tmp_path: Path) -> None:
    async def main() -> tuple[int, int, int, list[int]]:
        outbox = Outbox(tmp_path / "outbox.db", max_bytes=8_000, full_policy="stop_reading")
        await outbox.open()
        queue: asyncio.Queue[NewReading] = asyncio.Queue(maxsize=20)
        writer = OutboxWriter(outbox, queue)
        task = asyncio.create_task(writer.run())
        try:
            n = 0
            # Produce like a poller: put() blocks once the queue is full.
            while True:
                try:
                    async with asyncio.timeout(2):
                        await queue.put(reading(n))
                except TimeoutError:
                    break
                n += 1
            held, full_waits = await outbox.depth(), writer.full_waits
            oldest = await outbox.pending(held)
            await outbox.remove_through(oldest[0].seq, oldest[-1].seq)  # the uplink acked all
            async with asyncio.timeout(10):
                await queue.join()
            kept = [r.values["n"] for r in await outbox.pending(1000)]
            return n, held, full_waits, kept
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await outbox.close()

    produced, held, full_waits, kept = asyncio.run(main())
    assert full_waits > 0
    assert 0 < held < produced, "the outbox stopped taking readings at its quota"
    # Beyond the outbox: one group held by the writer and a full queue, no more.
    assert produced <= held + 2 * 20 + 1, "the pollers were held back by the bounded queue"
    assert kept == list(range(held, produced)), "nothing dropped: the held readings follow"
