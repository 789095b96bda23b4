"""Ingest: gateways post batches here (the wire contract of edgeward.sync)."""

from __future__ import annotations

import zlib
from typing import Annotated, Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from edgeward.cloud.api.authz import requires
from edgeward.cloud.api.common import transaction
from edgeward.cloud.errors import BadRequest, CloudError, Forbidden, InvalidBatch, PayloadTooLarge
from edgeward.cloud.fleet.events import store_events
from edgeward.cloud.fleet.gateways import record_seen
from edgeward.cloud.identity.principal import Principal
from edgeward.cloud.readings.store import store_batch
from edgeward.cloud.security_events.store import store_gateway_reports
from edgeward.sync.batch import INGEST_PATH, Batch, BatchAck, decode_batch, encode_ack
from edgeward.sync.clock import now_us
from edgeward.sync.errors import BatchFormatError
from edgeward.sync.events import EVENTS_PATH, decode_events
from edgeward.sync.security_events import SECURITY_EVENTS_PATH, decode_security_events

# The cap on a batch's JSON, compressed or not: gzip bodies are inflated only up to it.
MAX_BATCH_BYTES = 8 * 1024 * 1024
# 16 + MAX_WBITS: zlib expects a gzip header and trailer (RFC 1952), nothing else.
GZIP_WBITS = 16 + zlib.MAX_WBITS


class UnsupportedEncoding(CloudError):
    """A Content-Encoding other than gzip; the gateway then resends uncompressed."""

    status_code = 415
    code = "unsupported_encoding"


router = APIRouter(tags=["ingest"])


@router.post(INGEST_PATH, summary="Store a batch of readings from a gateway")
async def ingest_batch(
    request: Request, principal: Annotated[Principal, requires("ingest")]
) -> Any:
    body = await _read_capped(request)
    try:
        batch = decode_batch(body)
    except BatchFormatError as exc:
        raise InvalidBatch(exc.message, field=exc.path or None) from exc
    if principal.kind != "gateway" or batch.gateway_id != principal.id:
        raise Forbidden("a gateway may only send its own readings", field="gateway_id")
    ack = await run_in_threadpool(_store, request, batch, principal.account_id)
    return encode_ack(ack)


def _store(request: Request, batch: Batch, account_id: str) -> BatchAck:
    client = request.client.host if request.client else None
    with transaction(request) as connection:
        record_seen(connection, batch.gateway_id, client, now_us())
        return store_batch(connection, request.app.state.sealed_box, batch, account_id)


async def _read_capped(request: Request) -> bytes:
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise UnsupportedEncoding(f"Content-Encoding {encoding!r}: use gzip or none")
    body = await _read_body(request)
    return _gunzip_capped(body) if encoding == "gzip" else body


def _gunzip_capped(data: bytes) -> bytes:
    """Inflate one gzip member, never past MAX_BATCH_BYTES: a zip bomb costs 8 MiB, no more."""
    inflater = zlib.decompressobj(wbits=GZIP_WBITS)
    try:
        body = inflater.decompress(data, MAX_BATCH_BYTES + 1)
    except zlib.error as exc:
        raise BadRequest(f"the body is not valid gzip: {exc}") from exc
    if len(body) > MAX_BATCH_BYTES:
        raise PayloadTooLarge(f"a batch is at most {MAX_BATCH_BYTES} bytes decompressed")
    if not inflater.eof or inflater.unused_data:
        raise BadRequest("the body must be exactly one complete gzip member")
    return body


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BATCH_BYTES:
        raise PayloadTooLarge(f"a batch is at most {MAX_BATCH_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BATCH_BYTES:
            raise PayloadTooLarge(f"a batch is at most {MAX_BATCH_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(EVENTS_PATH, summary="Gateway events (data dropped, ...) from a gateway")
async def ingest_events(
    request: Request, principal: Annotated[Principal, requires("ingest")]
) -> Any:
    body = await _read_capped(request)
    try:
        gateway_id, events = decode_events(body)
    except BatchFormatError as exc:
        raise InvalidBatch(exc.message, field=exc.path or None) from exc
    if principal.kind != "gateway" or gateway_id != principal.id:
        raise Forbidden("a gateway may only report its own events", field="gateway_id")

    def store() -> int:
        with transaction(request) as connection:
            return store_events(connection, principal.account_id, gateway_id, events, now_us())

    return {"stored": await run_in_threadpool(store)}


@router.post(SECURITY_EVENTS_PATH, summary="A gateway's refused readings, aggregated per window")
async def ingest_security_events(
    request: Request, principal: Annotated[Principal, requires("ingest")]
) -> Any:
    """Stored as security events ``reported_by: gateway`` and sent to the account's
    webhooks like the cloud's own; each window keeps the largest count reported."""
    body = await _read_capped(request)
    try:
        gateway_id, events = decode_security_events(body)
    except BatchFormatError as exc:
        raise InvalidBatch(exc.message, field=exc.path or None) from exc
    if principal.kind != "gateway" or gateway_id != principal.id:
        raise Forbidden("a gateway may only report its own security events", field="gateway_id")

    def store() -> int:
        with transaction(request) as connection:
            return store_gateway_reports(connection, principal.account_id, gateway_id, events)

    return {"stored": await run_in_threadpool(store)}
