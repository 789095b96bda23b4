"""Refusals say why: admission keeps each refusal's reason, message, field and value
(bounded, never a credential), logs a source's refusals once per episode, and stores
and reports the latest of each (source, reason) with its security-event row."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
import sqlite3
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from edgeward.drivers.base import Reading, Refusal
from edgeward.gateway.admission.gate import AdmissionGate
from edgeward.gateway.admission.policy import (
    MAX_DETAIL,
    MAX_TRACKED_REJECTIONS,
    Admission,
    RejectionCounts,
    refusal_of,
)
from edgeward.gateway.admission.refusal_log import RefusalLog
from edgeward.gateway.admission.store import AdmissionStore
from edgeward.gateway.outbox.store import NewReading
from edgeward.sync import reports
from edgeward.sync.reports import ReportRejected
from edgeward.sync.security_events import SecurityEvent
from tests.peers.registry import bound_source

KEY = secrets.token_bytes(32)
PORT = "/dev/ttyUSB0"
ORIGIN = f"serial://{PORT}"
NOW = 1_764_128_460_000_000
DECODER = {
    "framing": {"kind": "line"},
    "fields": [{"name": "temperature", "type": "float"}, {"name": "humidity", "type": "float"}],
    "separator": ",",
}
SENSOR = bound_source("probe-1", "serial", DECODER, {"port": PORT})
SIGNED = {
    "name": "probe-h",
    "enabled": True,
    "binding": {"topic": "site/probe-h"},
    "type": {
        "transport": "mqtt",
        "auth_mode": "hmac",
        "sealed_for": None,
        "decoder": {"format": "json", "fields": [{"name": "temperature", "path": "t"}]},
        "fields": {"temperature": {"unit": "C", "min": -40, "max": 85}},
    },
    "key": base64.b64encode(KEY).decode(),
    "public_key": None,
}
LOG = "edgeward.gateway.admission.refusal_log"


def reading(raw: bytes, source: str = "probe-1", origin: str = ORIGIN) -> Reading:
    return Reading(source, raw, datetime.now(UTC), origin)


# What is kept of a refusal.


def test_a_decoding_refusal_keeps_field_and_value() -> None:
    refusal = Admission({"sources": [SENSOR]}).decide(reading(b"warm,40"))
    assert refusal == Refusal(
        "undecodable", "field 'temperature': not a decimal number", "temperature", "'warm'"
    )
    assert refusal.summary() == "undecodable: field temperature = 'warm'"


def test_too_few_parts_name_the_first_missing_field_and_show_no_value() -> None:
    refusal = Admission({"sources": [SENSOR]}).decide(reading(b"21.5"))
    assert isinstance(refusal, Refusal)
    assert (refusal.reason, refusal.field, refusal.value) == ("undecodable", "humidity", None)
    assert refusal.summary() == (
        "undecodable: field humidity (field 'humidity' is empty or missing)"
    )


def test_an_out_of_range_value_is_named() -> None:
    payload = json.dumps({"t": 99.5}).encode()
    signed = reports.sign_hmac(payload, "probe-h", 1, KEY)
    refusal = Admission({"sources": [SIGNED]}).decide(
        reading(signed, "probe-h", "mqtt://b/site/probe-h")
    )
    assert refusal == Refusal(
        "out-of-range", "temperature=99.5 outside [-40.0, 85.0]", "temperature", "99.5"
    )


def test_an_auth_refusal_keeps_no_value_even_if_one_was_given() -> None:
    rejected = ReportRejected("bad-signature", "no match", field="mac", value=KEY)
    assert refusal_of(rejected) == Refusal("bad-signature", "no match", "mac", None)
    forged = reports.sign_hmac(b'{"t": 1}', "probe-h", 1, secrets.token_bytes(32))
    refusal = Admission({"sources": [SIGNED]}).decide(
        reading(forged, "probe-h", "mqtt://b/site/probe-h")
    )
    assert isinstance(refusal, Refusal)
    assert (refusal.reason, refusal.field, refusal.value) == ("bad-signature", None, None)
    assert KEY.hex() not in repr(refusal) and base64.b64encode(KEY).decode() not in repr(refusal)


def test_detail_and_field_are_bounded() -> None:
    rejected = ReportRejected("undecodable", "x" * 5000, field="f" * 500, value="v" * 5000)
    refusal = refusal_of(rejected)
    assert len(refusal.detail) == MAX_DETAIL and refusal.detail.endswith("…")
    assert refusal.field == "f" * 128
    assert refusal.value is not None and len(refusal.value) == reports.MAX_RENDERED_VALUE


def test_what_a_device_chose_cannot_forge_a_log_line() -> None:
    rejected = ReportRejected("wrong-binding", "mqtt://b/x\nWARNING forged is not topic y")
    assert refusal_of(rejected).detail == "mqtt://b/x\\nWARNING forged is not topic y"
    assert refusal_of(ReportRejected("undecodable", "\ud800")).detail == "\\ud800"


def test_a_huge_field_value_is_shown_bounded() -> None:
    refusal = Admission({"sources": [SENSOR]}).decide(reading(b"A" * 900 + b",40"))
    assert isinstance(refusal, Refusal)
    assert refusal.value == "'" + "A" * 38 + "…"
    assert len(refusal.detail) <= MAX_DETAIL


# Bookkeeping.


def test_latest_refusal_per_key_and_per_source() -> None:
    counts = RejectionCounts()
    first, second = Refusal("undecodable", "a", "t", "'x'"), Refusal("undecodable", "b", "h", "1")
    counts.add("probe-1", "undecodable", first)
    counts.add("probe-1", "undecodable", second)
    counts.add("probe-1", "replay", Refusal("replay", "counter 3 was seen before"))
    assert counts.counts == {("probe-1", "undecodable"): 2, ("probe-1", "replay"): 1}
    assert counts.latest[("probe-1", "undecodable")] == second
    assert counts.by_source["probe-1"].reason == "replay"
    drained, latest = counts.drain()
    assert sum(drained.values()) == 3 and set(latest) == set(drained)
    assert counts.counts == {} and counts.latest == {}
    assert counts.by_source["probe-1"].reason == "replay", "kept across drains"


def test_the_overflow_row_carries_no_ones_refusal() -> None:
    counts = RejectionCounts()
    for n in range(MAX_TRACKED_REJECTIONS):
        counts.add(f"rogue-{n}", "unknown-source")
    counts.add("late", "undecodable", Refusal("undecodable", "d", "t", "'x'"))
    assert counts.counts[("*", "overflow")] == 1
    assert ("*", "overflow") not in counts.latest and ("late", "undecodable") not in counts.latest


# The log: once per episode.


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def gate_over(tmp_path: Path, clock: Clock) -> tuple[AdmissionGate, asyncio.Queue[NewReading]]:
    queue: asyncio.Queue[NewReading] = asyncio.Queue()
    store = AdmissionStore(tmp_path / "admission.db")
    admission = Admission({"sources": [SENSOR]}, replay=store)
    return AdmissionGate(admission, store, queue, RefusalLog(clock)), queue


def take_all(gate: AdmissionGate, frames: list[bytes]) -> list[Refusal | None]:
    async def run() -> list[Refusal | None]:
        return [await gate.take(reading(frame)) for frame in frames]

    return asyncio.run(run())


def messages(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == LOG]


def test_a_flood_of_refusals_is_logged_once_and_the_recovery_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOG)
    gate, queue = gate_over(tmp_path, Clock())
    taken = take_all(gate, [b"warm,40"] * 500 + [b"21.5,40"] * 5)
    assert all(isinstance(t, Refusal) for t in taken[:500]) and taken[500:] == [None] * 5
    assert gate.refused == Counter({"undecodable": 500}) and queue.qsize() == 5
    logged = messages(caplog)
    assert len(logged) == 2, logged
    (level, refused), (back_level, back) = logged
    assert level == logging.WARNING
    assert refused.startswith(f"refused a reading of probe-1 from {ORIGIN!r}: ")
    assert "undecodable: field temperature = 'warm'" in refused
    assert back_level == logging.INFO
    assert back == "probe-1 is admitted again after 500 refused reading(s)"


def test_a_new_reason_or_field_is_logged_and_a_flapping_source_is_not(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOG)
    clock = Clock()
    gate, _ = gate_over(tmp_path, clock)
    take_all(gate, [b"warm,40", b"warm,40", b"21.5,wet", b"21.5,wet"])
    assert [m for _, m in messages(caplog)][1].endswith(
        "undecodable: field humidity = 'wet' (field 'humidity': not a decimal number); "
        "counted and reported, logged again when the refusal changes"
    )
    caplog.clear()
    # A noisy line: every other frame refused, as before, for the next ten minutes.
    take_all(gate, [b"21.5,40", b"warm,40"] * 200 + [b"21.5,40"])
    assert [m for _, m in messages(caplog)] == [
        "probe-1 is admitted again after 4 refused reading(s)"
    ]
    caplog.clear()
    clock.now += 601  # ten minutes on, the same refusal is news again
    take_all(gate, [b"warm,40", b"21.5,40"])
    assert len(messages(caplog)) == 2


def test_a_source_refused_without_a_field_is_logged_with_the_message(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOG)
    gate, _ = gate_over(tmp_path, Clock())
    take_all(gate, [b"\xff\xfe,1"] * 3)
    ((_, message),) = messages(caplog)
    assert "undecodable: the frame is not UTF-8 text" in message


# Stored and reported.


def test_rows_keep_the_latest_refusal_of_their_key(tmp_path: Path) -> None:
    store = AdmissionStore(tmp_path / "admission.db")
    key = ("probe-1", "undecodable")
    first = Refusal("undecodable", "temperature", "temperature", "'warm'")
    store.record(Counter({key: 3}), NOW, {key: first})
    store.record(Counter({key: 1}), NOW + 1000, {key: Refusal("undecodable", "m", "humidity")})
    (row,) = store.unreported()
    assert (row["count"], row["field"], row["value"], row["detail"]) == (4, "humidity", None, "m")
    store.record(Counter({key: 1}), NOW + 2000)  # counted without a refusal: the why stays
    (row,) = store.unreported()
    assert (row["count"], row["field"]) == (5, "humidity")


def test_an_admission_db_from_before_the_why_gains_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "admission.db"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE security_events (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "window_start_us INTEGER NOT NULL, source TEXT NOT NULL, reason TEXT NOT NULL, "
            "count INTEGER NOT NULL, first_us INTEGER NOT NULL, last_us INTEGER NOT NULL, "
            "reported_count INTEGER NOT NULL DEFAULT 0, UNIQUE (window_start_us, source, reason))"
        )
        db.execute(
            "INSERT INTO security_events (window_start_us, source, reason, count, first_us, "
            "last_us) VALUES (?, 'meter-9', 'unknown-source', 2, ?, ?)",
            (NOW, NOW, NOW),
        )
    db.close()
    store = AdmissionStore(path)
    (old,) = store.unreported()
    assert (old["count"], old["field"], old["value"], old["detail"]) == (2, None, None, None)
    key = ("probe-1", "out-of-range")
    store.record(Counter({key: 1}), NOW, {key: Refusal("out-of-range", "d", "t", "99")})
    assert {row["source"]: row["value"] for row in store.unreported()} == {
        "meter-9": None,
        "probe-1": "99",
    }
    store.close()
    AdmissionStore(path).close()  # opening again adds nothing twice


class Recorder:
    """The cloud client's one call the gate makes, recorded."""

    def __init__(self) -> None:
        self.posted: list[SecurityEvent] = []

    async def post_security_events(self, gateway_id: str, events: list[SecurityEvent]) -> Any:
        self.posted += events


def test_the_reported_event_says_why(tmp_path: Path) -> None:
    gate, _ = gate_over(tmp_path, Clock())
    take_all(gate, [b"21.5,40", b"warm,40", b"hot,40"])
    gate.flush()
    client = Recorder()
    asyncio.run(gate.send(client, "gw-1a2b3c4d5e6f"))  # type: ignore[arg-type]
    (event,) = client.posted
    assert (event.source, event.reason, event.count) == ("probe-1", "undecodable", 2)
    assert (event.field, event.value, event.detail) == (
        "temperature",
        "'hot'",
        "field 'temperature': not a decimal number",
    )
