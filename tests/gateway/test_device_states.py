"""A device's state: up only while its readings get in. Refused readings show the reason,
field and value; a device that has said nothing yet is waiting, never ``None``."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from edgeward.drivers.base import (
    DeviceHealth,
    Emit,
    PollingDriver,
    Reading,
    Refusal,
    StreamingDriver,
)
from edgeward.drivers.errors import DeviceProtocolError, DeviceUnavailable
from edgeward.gateway.devices.polling import PollCoordinator
from edgeward.gateway.devices.streaming import StreamCoordinator
from edgeward.gateway.health.devices import device_row, device_snapshot, device_state
from edgeward.gateway.health.publisher import exposition
from edgeward.gateway.health.status_table import render
from tests.gateway.test_status_admission import NOW, snapshot
from tests.peers.registry import admission_gate, bound_source
from tests.test_gateway_health import table

PORT = "/dev/ttyUSB0"
DECODER = {
    "framing": {"kind": "line"},
    "fields": [{"name": "temperature", "type": "float"}, {"name": "humidity", "type": "float"}],
    "separator": ",",
}
SENSOR = bound_source("probe-1", "serial", DECODER, {"port": PORT})
WARM = Refusal("undecodable", "field 'temperature': 'warm' is not float", "temperature", "'warm'")


@pytest.mark.parametrize(
    ("health", "state", "detail"),
    [
        (DeviceHealth(polled=True), "waiting", "waiting for first poll"),
        (DeviceHealth(), "waiting", "waiting for data"),
        (DeviceHealth(available=True), "waiting", "waiting for data"),
        (
            DeviceHealth(available=True, failures=1, last_error="read failed"),
            "waiting",
            "waiting for data (last error: read failed)",
        ),
        (DeviceHealth(available=True, reads=5), "up", None),
        (
            DeviceHealth(available=True, reads=5, refused=5, last_refusal=WARM),
            "refused",
            "undecodable: field temperature = 'warm'",
        ),
        (
            DeviceHealth(available=True, reads=9, refused=0, last_refusal=WARM),
            "up",
            None,
        ),
        (
            DeviceHealth(malformed=3, last_error="malformed frame (3 since start) on /dev/x"),
            "down",
            "malformed frame (3 since start) on /dev/x",
        ),
        (
            DeviceHealth(reads=5, failures=1, refused=5, last_refusal=WARM, last_error="gone"),
            "down",
            "gone",
        ),
    ],
)
def test_states(health: DeviceHealth, state: str, detail: str | None) -> None:
    assert device_state(health) == (state, detail)


def test_a_refused_device_in_the_table_json_and_metrics() -> None:
    health = DeviceHealth(available=True, reads=12, refused=12, last_refusal=WARM)
    status = snapshot({"version": None, "sources": 1, "verified_us": NOW, "age_s": 0.0}, {})
    status["admission"]["registry"]["last_error"] = None
    status["devices"] = {
        "probe-1": device_snapshot(health),
        "probe-2": device_snapshot(DeviceHealth()),
        "meter-1": device_snapshot(DeviceHealth(available=True, reads=3, polled=True)),
    }
    assert status["devices"]["probe-1"]["last_refusal"] == {
        "reason": "undecodable",
        "detail": "field 'temperature': 'warm' is not float",
        "field": "temperature",
        "value": "'warm'",
    }
    shown = table(render(status, NOW))
    assert shown["device probe-1"] == (
        "REFUSED: undecodable: field temperature = 'warm' (12 in a row; 12 reads)"
    )
    assert shown["device probe-2"] == "waiting for data"
    assert shown["device meter-1"] == "up (3 reads)"
    status["uplink"].update(failures_total=0, failing=False, wire_bytes_total=0)
    status["outbox"].update(committed_total=0)
    lines = exposition(status).splitlines()
    assert 'edgeward_device_up{source="probe-1"} 0' in lines
    assert 'edgeward_device_up{source="meter-1"} 1' in lines
    assert 'edgeward_device_state{source="probe-1",state="refused"} 1' in lines
    assert 'edgeward_device_state{source="probe-2",state="waiting"} 1' in lines
    assert (
        'edgeward_device_refused_readings{source="probe-1",reason="undecodable",'
        'field="temperature"} 12'
    ) in lines


def test_a_status_json_from_before_device_states_still_renders() -> None:
    old = {"available": False, "reads": 0, "failures": 1, "last_error": "x", "malformed": 0}
    assert device_row(old) == "DOWN (0 reads)"
    assert device_row({**old, "available": True}) == "up (0 reads)"


class Answers(PollingDriver):
    """A polled device that answers each poll with the next of ``frames``."""

    def __init__(self, frames: list[bytes]) -> None:
        self.frames = frames

    async def open(self) -> None:
        pass

    async def poll(self, source: str) -> Reading:
        frame = self.frames.pop(0)
        if frame == b"<timeout>":
            raise DeviceUnavailable("no answer within 1s")
        if frame == b"<garbage>":
            raise DeviceProtocolError("malformed frame: 2 piece(s) and no answer within 1s")
        return Reading(source, frame, datetime.now(UTC), f"serial://{PORT}")

    async def close(self) -> None:
        pass

    @property
    def sources(self) -> tuple[str, ...]:
        return ("probe-1",)


def test_the_poll_coordinator_keeps_the_refused_streak(tmp_path: Path) -> None:
    frames = [b"warm,40", b"warm,40", b"21.5,40", b"21.5,wet", b"<garbage>"]
    gate, queue = admission_gate(tmp_path, [SENSOR])
    coordinator = PollCoordinator(Answers(frames), {"probe-1": 1.0}, gate)
    health = coordinator.health["probe-1"]
    seen: list[tuple[str, str | None]] = [device_state(health)]

    async def main() -> None:
        for _ in range(5):
            await coordinator.poll_once("probe-1")
            seen.append(device_state(health))

    asyncio.run(main())
    assert seen == [
        ("waiting", "waiting for first poll"),
        ("refused", "undecodable: field temperature = 'warm'"),
        ("refused", "undecodable: field temperature = 'warm'"),
        ("up", None),
        ("refused", "undecodable: field humidity = 'wet'"),
        ("down", "malformed frame: 2 piece(s) and no answer within 1s"),
    ]
    assert queue.qsize() == 1 and health.malformed == 1


class Streams(StreamingDriver):
    """A streaming device that sends ``frames`` and then stays connected."""

    def __init__(self, frames: list[bytes]) -> None:
        self.frames = frames
        self._health = DeviceHealth()
        self.done = asyncio.Event()

    async def run(self, emit: Emit) -> None:
        self._health.available = True
        for frame in self.frames:
            self._health.reads += 1
            await emit(Reading("probe-1", frame, datetime.now(UTC), f"serial://{PORT}"))
        self.done.set()
        await asyncio.Event().wait()

    def health(self) -> Mapping[str, DeviceHealth]:
        return {"probe-1": self._health}

    @property
    def sources(self) -> tuple[str, ...]:
        return ("probe-1",)


def test_the_stream_coordinator_notes_refusals_in_the_drivers_health(tmp_path: Path) -> None:
    # A third part is a newer firmware's extra field, read as the type says (ignored);
    # a frame that is not text at all is refused, and no field is at fault.
    driver = Streams([b"21.5,40", b"21.5,40,3"] + [b"\xff\xfe,40"] * 3)
    gate, _ = admission_gate(tmp_path, [SENSOR])
    coordinator = StreamCoordinator(driver, gate)

    async def main() -> dict[str, Any]:
        task = asyncio.create_task(coordinator.run())
        try:
            async with asyncio.timeout(5):
                await driver.done.wait()
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        return device_snapshot(coordinator.health["probe-1"])

    shown = asyncio.run(main())
    assert (shown["state"], shown["refused"], shown["reads"]) == ("refused", 3, 5)
    assert shown["detail"] == "undecodable: the frame is not UTF-8 text", (
        "a refusal of the whole frame names no field, and the frame is not shown"
    )
