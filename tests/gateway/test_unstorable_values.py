"""NaN, Infinity and huge numbers from a device cost that reading only. Regression: one
NaN from an MQTT device crashed the outbox writer and lost its whole group."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from edgeward.gateway.outbox.store import NewReading, Outbox
from edgeward.gateway.outbox.writer import OutboxWriter
from edgeward.sync.reports import ReportRejected
from edgeward.sync.source_types import parse_type_spec
from edgeward.sync.source_types.checks import validate_type_spec
from edgeward.sync.source_types.decoders import build_decoder, check_ranges
from edgeward.sync.source_types.spec import TypeSpec


def mqtt_type(field: dict[str, object]) -> TypeSpec:
    document = {"transport": "mqtt", "auth_mode": "bound", "decoder": {"fields": [field]}}
    return parse_type_spec(validate_type_spec(document))


@pytest.mark.parametrize(
    "payload",
    [
        b'{"t": NaN}',
        b'{"t": Infinity}',
        b'{"t": -Infinity}',
        b'{"t": 1' + b"0" * 400 + b"}",
        b'{"t": 1e400}',
    ],
)
def test_json_decoder_refuses_what_is_not_a_finite_number(payload: bytes) -> None:
    decode = build_decoder(mqtt_type({"name": "t", "type": "float"}))
    with pytest.raises(ReportRejected) as refused:
        decode(payload, "mqtt://broker/t")
    assert refused.value.reason == "undecodable"
    assert decode(b'{"t": 21.5}', "mqtt://broker/t") == {"t": 21.5}


def test_a_finite_value_its_conversion_makes_infinite_is_out_of_range() -> None:
    spec = mqtt_type({"name": "t", "type": "float", "scale": 1e10})
    with pytest.raises(ReportRejected) as refused:
        build_decoder(spec)(b'{"t": 1e300}', "mqtt://broker/t")
    assert (refused.value.reason, refused.value.field) == ("out-of-range", "t")


def test_admission_refuses_any_non_finite_value_it_is_handed() -> None:
    """The last check before the outbox (check_ranges), whatever decoder made the values."""
    for value in (math.nan, math.inf, -math.inf):
        with pytest.raises(ReportRejected) as refused:
            check_ranges({"ok": 1.0, "t": value}, {})
        assert (refused.value.reason, refused.value.field) == ("out-of-range", "t")
    check_ranges({"t": 1.0e308}, {})


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
