"""Opening sealed-for-cloud readings at ingest: the cloud alone reads these reports.

A gateway forwards the report of a ``sealed_for: cloud`` source untouched, as
``{"sealed": "<base64 envelope>"}``, after checking the sender's tag with the
derived authentication key it was given (:mod:`edgeward.sync.reports`). Here
the cloud opens the envelope with the source key (kept sealed under the
master key), refuses a counter it accepted before, decodes the payload with
the type (:mod:`edgeward.sync.source_types`) and checks ranges.
Whatever fails is refused with its reason, like any other cloud rejection,
independently of what the gateway decided.
"""

from __future__ import annotations

import base64
import binascii
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from edgeward.cloud.crypto.keys import SealedBox
from edgeward.cloud.datasources.types import get_type
from edgeward.cloud.storage.schema import data_sources, readings, sealed_report_counters
from edgeward.sync.batch import WireReading
from edgeward.sync.errors import SpecError
from edgeward.sync.reports import FrameIgnored, ReportRejected, open_sealed_for_cloud
from edgeward.sync.source_types import spec_of
from edgeward.sync.source_types.decoders import Decoder, Values, build_decoder, check_ranges
from edgeward.sync.source_types.spec import FieldMeta


@dataclass(frozen=True, slots=True)
class _SealedSource:
    id: str
    key: bytes
    type: dict[str, Any]
    fields: dict[str, FieldMeta]
    decode: Decoder


@dataclass(slots=True)
class Opened:
    """What became of a batch's sealed readings: the others pass through untouched.

    A reading in neither list is a duplicate (stored meanwhile by a concurrent copy).
    """

    readings: list[WireReading]
    refused: Counter[tuple[str, str]]


def open_sealed(
    connection: sa.Connection,
    box: SealedBox,
    account_id: str,
    gateway_id: str,
    fresh: Sequence[WireReading],
) -> Opened:
    """Replace each sealed reading of ``fresh`` (not stored before) by its decoded values.

    Call after dedup by (gateway, seq): a resent batch is a duplicate, not a replay.
    """
    sources = _sealed_sources(connection, box, account_id, {r.source for r in fresh})
    result = Opened([], Counter())
    for reading in fresh:
        source = sources.get(reading.source)
        if source is None:
            result.readings.append(reading)
            continue
        try:
            values = _open_one(reading, source)
            if not _accept_counter(connection, source.id, values.counter):
                if _seq_stored(connection, gateway_id, reading.seq):
                    continue  # a concurrent copy of this batch got here first: a duplicate
                raise ReportRejected("replay", f"counter {values.counter} was seen before")
        except ReportRejected as refusal:
            result.refused[(reading.source, refusal.reason)] += 1
            continue
        except FrameIgnored:
            continue  # its type passes over this frame on purpose: nothing to store or flag
        result.readings.append(replace(reading, values=values.values))
    return result


@dataclass(frozen=True, slots=True)
class _Decoded:
    counter: int
    values: Values


def _open_one(reading: WireReading, source: _SealedSource) -> _Decoded:
    envelope = _envelope(reading.values)
    opened = open_sealed_for_cloud(envelope, reading.source, source.key)
    values = source.decode(opened.payload, _origin(source.type))
    check_ranges(values, source.fields)
    return _Decoded(opened.counter, values)


def _envelope(values: Any) -> bytes:
    """The envelope a gateway forwarded; anything else (plaintext values) is refused."""
    sealed = values.get("sealed") if isinstance(values, dict) and len(values) == 1 else None
    if not isinstance(sealed, str):
        raise ReportRejected("not-sealed", "a sealed-for-cloud source's reading must stay sealed")
    try:
        return base64.b64decode(sealed, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ReportRejected("malformed", "the sealed envelope is not base64") from exc


def _origin(source_type: dict[str, Any]) -> str:
    """Where a BLE decoder looks for its characteristic: a sealed-for-cloud BLE type has
    exactly one (edgeward.sync.source_types.checks), so that one; other transports ignore it."""
    if source_type["transport"] == "ble":
        return str(source_type["decoder"]["characteristics"][0]["uuid"])
    return ""


def _accept_counter(connection: sa.Connection, source_id: str, counter: int) -> bool:
    """Record ``counter`` for the source; False if it was there (a replay).

    One atomic insert: two workers storing the same report can't both win.
    """
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(sealed_report_counters)
        .values(source_id=source_id, counter=counter)
        .on_conflict_do_nothing(index_elements=["source_id", "counter"])
        # RETURNING, not rowcount: psycopg reports -1 for this statement.
        .returning(sealed_report_counters.c.counter)
    )
    return connection.execute(statement).first() is not None


def _seq_stored(connection: sa.Connection, gateway_id: str, seq: int) -> bool:
    return (
        connection.execute(
            sa.select(readings.c.id).where(
                readings.c.gateway_id == gateway_id, readings.c.seq == seq
            )
        ).first()
        is not None
    )


def _sealed_sources(
    connection: sa.Connection, box: SealedBox, account_id: str, names: set[str]
) -> dict[str, _SealedSource]:
    """The sealed-for-cloud sources among ``names``, with their keys opened for this batch."""
    if not names:
        return {}
    rows = connection.execute(
        sa.select(data_sources.c.id, data_sources.c.name, data_sources.c.type_id)
        .add_columns(data_sources.c.sealed_key)
        .where(
            data_sources.c.account_id == account_id,
            data_sources.c.name.in_(sorted(names)),
            data_sources.c.sealed_key.is_not(None),
        )
    ).all()
    types: dict[str, dict[str, Any]] = {}
    found = {}
    for row in rows:
        if row.type_id not in types:
            types[row.type_id] = get_type(connection, account_id, row.type_id)
        source_type = types[row.type_id]
        if source_type["auth_mode"] != "sealed" or source_type["sealed_for"] != "cloud":
            continue
        fields, decode = _decoder(source_type)
        found[row.name] = _SealedSource(
            row.id, box.open(row.sealed_key, row.id), source_type, fields, decode
        )
    return found


def _decoder(source_type: dict[str, Any]) -> tuple[dict[str, FieldMeta], Decoder]:
    try:
        spec = spec_of(source_type)
        return spec.fields, build_decoder(spec)
    except SpecError as exc:
        # A spec this cloud can't read (stored by a newer one): its readings are
        # refused, not the batch.
        message = str(exc)

        def refuse(payload: bytes, origin: str) -> Values:
            raise ReportRejected("undecodable", message)

        return {}, refuse


def forget_counters(connection: sa.Connection, source_id: str) -> None:
    """After a key rotation or deletion: no report under the old key opens any more."""
    connection.execute(
        sealed_report_counters.delete().where(sealed_report_counters.c.source_id == source_id)
    )
