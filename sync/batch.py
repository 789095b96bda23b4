"""The batch format: what a gateway sends and what the cloud acknowledges.

Version 1 is JSON (UTF-8)::

    {"format": "edgeward.batch", "version": 1, "gateway_id": "gw-1a2b3c4d5e6f",
     "readings": [{"seq": 1, "source": "meter-1",
                   "time": "2026-11-26T03:41:00.123456Z",
                   "values": {"voltage": 230.4, "energy": 1200}}]}

``seq`` is the gateway's sequence number for the reading: positive, strictly
increasing within a batch and never reused by a gateway. The cloud stores a
reading once per ``(gateway_id, seq)``, which turns the uplink's
at-least-once delivery into exactly-once storage.

The decoder is strict and names the offending field, because a batch that
the cloud half-understands must be refused whole rather than half stored.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeGuard

from edgeward.sync.clock import format_time
from edgeward.sync.errors import BatchFormatError

INGEST_PATH = "/v1/ingest/batches"
BATCH_FORMAT = "edgeward.batch"
ACK_FORMAT = "edgeward.ack"
BATCH_VERSION = 1
MAX_READINGS_PER_BATCH = 10_000
MAX_VALUES_PER_READING = 256
MAX_STRING_VALUE_LENGTH = 1024
MIN_YEAR = 1970

Value = bool | int | float | str

IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)
IDENTIFIER_RULE = "an identifier of 1-128 chars (A-Z a-z 0-9 . _ : -, starting alphanumeric)"
# RFC 3339 §5.6 date-time; datetime.fromisoformat alone also takes other ISO 8601
# forms (basic format, week dates) that are not on the wire.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})")


def is_identifier(text: str) -> bool:
    """Source ids, gateway ids and value names all follow this one rule."""
    return _IDENTIFIER.fullmatch(text) is not None


@dataclass(frozen=True, slots=True)
class WireReading:
    """One reading as it travels: the gateway's sequence, its source, when, what."""

    seq: int
    source: str
    time: datetime
    values: Mapping[str, Value]


@dataclass(frozen=True, slots=True)
class Batch:
    gateway_id: str
    readings: tuple[WireReading, ...]
    version: int = BATCH_VERSION


@dataclass(frozen=True, slots=True)
class BatchAck:
    """The cloud's receipt for one batch: every reading is stored now, was stored
    before, or was rejected by the cloud's own admission (and flagged there); the
    gateway may forget all of them."""

    gateway_id: str
    stored: int
    duplicates: int
    highest_seq: int
    rejected: int = 0
    version: int = BATCH_VERSION

    @property
    def acknowledged(self) -> int:
        return self.stored + self.duplicates + self.rejected


def encode_batch(batch: Batch) -> bytes:
    document = {
        "format": BATCH_FORMAT,
        "version": batch.version,
        "gateway_id": batch.gateway_id,
        "readings": [
            {
                "seq": reading.seq,
                "source": reading.source,
                "time": format_time(reading.time),
                "values": dict(reading.values),
            }
            for reading in batch.readings
        ],
    }
    return json.dumps(document, separators=(",", ":"), allow_nan=False).encode()


def decode_batch(body: bytes) -> Batch:
    """Parse and validate a batch; raise :class:`BatchFormatError` naming the field."""
    document = _load_object(body)
    _expect_header(document, BATCH_FORMAT)
    gateway_id = _identifier(document, "gateway_id", "")
    raw_readings = document.get("readings")
    if not isinstance(raw_readings, list):
        raise BatchFormatError("readings", "expected a list of readings")
    if not raw_readings:
        raise BatchFormatError("readings", "a batch carries at least one reading")
    if len(raw_readings) > MAX_READINGS_PER_BATCH:
        raise BatchFormatError("readings", f"at most {MAX_READINGS_PER_BATCH} readings per batch")
    readings: list[WireReading] = []
    previous_seq = 0
    for index, raw in enumerate(raw_readings):
        reading = _decode_reading(raw, f"readings[{index}]")
        if reading.seq <= previous_seq:
            raise BatchFormatError(
                f"readings[{index}].seq", "sequence numbers must increase within a batch"
            )
        previous_seq = reading.seq
        readings.append(reading)
    return Batch(gateway_id=gateway_id, readings=tuple(readings))


def encode_ack(ack: BatchAck) -> dict[str, Any]:
    return {
        "format": ACK_FORMAT,
        "version": ack.version,
        "gateway_id": ack.gateway_id,
        "stored": ack.stored,
        "duplicates": ack.duplicates,
        "rejected": ack.rejected,
        "highest_seq": ack.highest_seq,
    }


def decode_ack(body: bytes) -> BatchAck:
    document = _load_object(body)
    _expect_header(document, ACK_FORMAT)
    counts = {}
    for name in ("stored", "duplicates", "highest_seq", "rejected"):
        value = document.get(name, 0 if name == "rejected" else None)
        if not _is_int(value) or value < 0:
            raise BatchFormatError(name, "expected a non-negative integer")
        counts[name] = value
    return BatchAck(
        gateway_id=_identifier(document, "gateway_id", ""),
        stored=counts["stored"],
        duplicates=counts["duplicates"],
        highest_seq=counts["highest_seq"],
        rejected=counts["rejected"],
    )


def _load_object(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:  # ValueError: also integers too long
        raise BatchFormatError("", f"not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise BatchFormatError("", "expected a JSON object")
    return document


def _expect_header(document: Mapping[str, Any], expected_format: str) -> None:
    if document.get("format") != expected_format:
        raise BatchFormatError("format", f"expected {expected_format!r}")
    version = document.get("version")
    if version != BATCH_VERSION or not _is_int(version):
        raise BatchFormatError("version", f"unsupported version {version!r}; expected 1")


def _decode_reading(raw: object, path: str) -> WireReading:
    if not isinstance(raw, dict):
        raise BatchFormatError(path, "expected an object")
    seq = raw.get("seq")
    if not _is_int(seq) or not 0 < seq < 2**63:
        raise BatchFormatError(f"{path}.seq", "expected a positive 63-bit integer")
    source = _identifier(raw, "source", path)
    time_text = raw.get("time")
    if not isinstance(time_text, str):
        raise BatchFormatError(f"{path}.time", "expected an RFC 3339 time string")
    try:
        if not _RFC3339.fullmatch(time_text):
            raise ValueError(time_text)
        moment = datetime.fromisoformat(time_text.upper()).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise BatchFormatError(f"{path}.time", f"not an RFC 3339 time: {time_text!r}") from exc
    if moment.year < MIN_YEAR:
        raise BatchFormatError(f"{path}.time", f"times before {MIN_YEAR} are not readings")
    values = raw.get("values")
    if not isinstance(values, dict) or not values:
        raise BatchFormatError(f"{path}.values", "expected a non-empty object")
    if len(values) > MAX_VALUES_PER_READING:
        raise BatchFormatError(
            f"{path}.values", f"at most {MAX_VALUES_PER_READING} values per reading"
        )
    for name, value in values.items():
        _check_value(name, value, f"{path}.values")
    return WireReading(seq=seq, source=source, time=moment, values=values)


def _check_value(name: str, value: object, path: str) -> None:
    if not is_identifier(name):
        raise BatchFormatError(f"{path}.{name}", f"expected {IDENTIFIER_RULE}")
    if isinstance(value, float) and not math.isfinite(value):
        raise BatchFormatError(f"{path}.{name}", "numbers must be finite")
    if _is_int(value) and not -(2**63) <= value < 2**63:
        raise BatchFormatError(f"{path}.{name}", "integers must fit in 64 bits")
    if isinstance(value, str) and len(value) > MAX_STRING_VALUE_LENGTH:
        raise BatchFormatError(
            f"{path}.{name}", f"strings are at most {MAX_STRING_VALUE_LENGTH} chars"
        )
    if not isinstance(value, bool | int | float | str):
        raise BatchFormatError(f"{path}.{name}", "expected a number, a boolean or a string")


def _identifier(document: Mapping[str, Any], key: str, path: str) -> str:
    value = document.get(key)
    where = f"{path}.{key}" if path else key
    if not isinstance(value, str) or not is_identifier(value):
        raise BatchFormatError(where, f"expected {IDENTIFIER_RULE}")
    return value


def _is_int(value: object) -> TypeGuard[int]:
    # bool is an int subclass; a JSON true must not pass as sequence 1.
    return isinstance(value, int) and not isinstance(value, bool)
