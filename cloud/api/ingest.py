"""Ingest: gateways post batches here (the wire contract of edgeward.sync)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from edgeward.cloud.api.authz import requires
from edgeward.cloud.api.common import transaction
from edgeward.cloud.errors import Forbidden, InvalidBatch, PayloadTooLarge
from edgeward.cloud.identity.principal import Principal
from edgeward.cloud.readings import store_batch
from edgeward.sync.batch import Batch, BatchAck, decode_batch, encode_ack
from edgeward.sync.errors import BatchFormatError
from edgeward.sync.uplink import INGEST_PATH

MAX_BATCH_BYTES = 8 * 1024 * 1024

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
    with transaction(request) as connection:
        return store_batch(connection, batch, account_id)


async def _read_capped(request: Request) -> bytes:
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
