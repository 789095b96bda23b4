"""NaN, Infinity and huge numbers from a device cost that reading only. Regression: one
NaN from an MQTT device crashed the outbox writer and lost its whole group."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from edgeward.gateway.outbox.store import NewReading, Outbox
from edgeward.gateway.outbox.writer import OutboxWriter
from edgeward.sync.frames import FieldType, JsonDecoder, TextField
from edgeward.sync.reports import ReportRejected


@pytest.mark.parametrize(
    "payload",
    [b'{"t": NaN}', b'{"t": Infinity}', b'{"t": -Infinity}', b'{"t": 1' + b"0" * 400 + b"}"],
)
def test_json_decoder_refuses_what_is_not_a_finite_number(payload: bytes) -> None:
    decoder = JsonDecoder((TextField("t", FieldType.FLOAT),))
    with pytest.raises(ReportRejected, match=r"^undecodable: "):
        decoder.decode(payload)
    assert decoder.decode(b'{"t": 21.5}') == {"t": 21.5}


def test_the_writer_drops_an_unstorable_reading_and_commits_the_rest(tmp_path: Path) -> None:
    async def main() -> tuple[int, int, int]:
        outbox = Outbox(tmp_path / "outbox.db")
        await outbox.open()
        queue: asyncio.Queue[NewReading] = asyncio.Queue()
        writer = OutboxWriter(outbox, queue)
        for n, value in enumerate([1.0, math.nan, 2.0, math.inf, 3.0]):
            queue.put_nowait(
                NewReading(source="probe", time_us=1_764_000_000_000_000 + n, values={"t": value})
            )
        task = asyncio.create_task(writer.run())
        async with asyncio.timeout(10):
            await queue.join()  # regression: never returned after the writer crashed
        task.cancel()
        depth = await outbox.depth()
        await outbox.close()
        return depth, writer.unstorable, writer.readings_committed

    depth, unstorable, committed = asyncio.run(main())
    assert (depth, unstorable, committed) == (3, 2, 3)
