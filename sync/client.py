"""The gateway's uplink client: posts one batch, returns the cloud's ack.

It knows HTTP and the wire contract and nothing of the outbox: the gateway
decides what to send and what to delete. Every httpx failure is translated
here into :class:`UplinkUnavailable` (retry later) or :class:`UplinkRejected`
(the cloud refused the request), so no httpx type leaks upward.
"""

from __future__ import annotations

import gzip
import json
import math
from types import TracebackType
from typing import Any

import httpx

from edgeward.sync.batch import Batch, BatchAck, decode_ack, encode_batch
from edgeward.sync.errors import BatchFormatError, UplinkRejected, UplinkUnavailable
from edgeward.sync.events import EVENTS_PATH, GatewayEvent, encode_events
from edgeward.sync.security_events import (
    SECURITY_EVENTS_PATH,
    SecurityEvent,
    encode_security_events,
)
from edgeward.sync.signed_documents import RegistryStore, fetch_public_key, pull

INGEST_PATH = "/v1/ingest/batches"
# Level 5 of zlib: most of level 9's ratio on repetitive JSON at a fraction of the CPU.
GZIP_LEVEL = 5
UNSUPPORTED_MEDIA_TYPE = 415


class UplinkClient:
    """One HTTP connection pool to the cloud, authenticated by the gateway credential."""

    def __init__(
        self,
        cloud_url: str,
        credential: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        compress: bool = True,
    ) -> None:
        self.compress = compress
        # Bytes of batch bodies before and after compression, for the gateway's metrics.
        self.body_bytes = 0
        self.wire_bytes = 0
        self._client = httpx.AsyncClient(
            base_url=cloud_url.rstrip("/"),
            headers={"Authorization": f"Bearer {credential}"},
            timeout=timeout,
            transport=transport,
        )

    async def __aenter__(self) -> UplinkClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(self, batch: Batch) -> BatchAck:
        """Post ``batch``; return the ack once the cloud has stored all of it.

        The body is gzip-compressed (``Content-Encoding: gzip``, RFC 9110 §8.4)
        unless the cloud answered 415 to that once: then this client sends
        plain JSON from then on, so a gateway upgraded before its cloud still
        delivers.
        """
        body = encode_batch(batch)
        response = await self._post(body)
        if response.status_code == UNSUPPORTED_MEDIA_TYPE and self.compress:
            self.compress = False
            response = await self._post(body)
        if response.status_code == 429 or response.status_code >= 500:
            raise UplinkUnavailable(
                f"cloud answered {response.status_code}",
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        if response.status_code >= 400:
            code, message = _error_fields(response)
            raise UplinkRejected(response.status_code, code, message)
        try:
            ack = decode_ack(response.content)
        except BatchFormatError as exc:
            # A proxy answering 200 with something else: nothing is known stored.
            raise UplinkUnavailable(f"cloud sent an unreadable ack: {exc}") from exc
        if ack.gateway_id != batch.gateway_id or ack.acknowledged != len(batch.readings):
            raise UplinkUnavailable(
                f"ack does not match the batch: {ack.acknowledged} of "
                f"{len(batch.readings)} readings for {ack.gateway_id}"
            )
        return ack

    async def send_events(self, gateway_id: str, events: list[GatewayEvent]) -> None:
        """Report gateway events (plain JSON: they are few and small)."""
        await self._post_small(EVENTS_PATH, encode_events(gateway_id, events))

    async def send_security_events(self, gateway_id: str, events: list[SecurityEvent]) -> None:
        """Report refused readings, aggregated per window (few rows, whatever the flood)."""
        await self._post_small(SECURITY_EVENTS_PATH, encode_security_events(gateway_id, events))

    async def pull_registry(
        self, store: RegistryStore, etag: str | None
    ) -> tuple[dict[str, Any], str] | None:
        """A newer verified registry (saved in ``store``), or None if unchanged."""
        return await pull(self._client, store, etag)

    async def registry_public_key(self) -> str:
        """The cloud's registry-signing public key (base64), asked at first contact."""
        return await fetch_public_key(self._client)

    async def _post_small(self, path: str, body: bytes) -> None:
        try:
            response = await self._client.post(
                path, content=body, headers={"Content-Type": "application/json"}
            )
        except httpx.HTTPError as exc:
            raise UplinkUnavailable(f"cloud unreachable: {exc!r}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise UplinkUnavailable(f"cloud answered {response.status_code}")
        if response.status_code >= 400:
            code, message = _error_fields(response)
            raise UplinkRejected(response.status_code, code, message)

    async def _post(self, body: bytes) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        content = body
        if self.compress:
            content = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
            headers["Content-Encoding"] = "gzip"
        try:
            response = await self._client.post(INGEST_PATH, content=content, headers=headers)
        except httpx.HTTPError as exc:
            raise UplinkUnavailable(f"cloud unreachable: {exc!r}") from exc
        self.body_bytes += len(body)
        self.wire_bytes += len(content)
        return response


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (RFC 9110 §10.2.3); dates are ignored."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _error_fields(response: httpx.Response) -> tuple[str, str]:
    try:
        error = response.json()["error"]
        return str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError, json.JSONDecodeError):
        return "http_error", response.text[:200]
