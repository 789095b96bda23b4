"""The gateway's uplink client: posts one batch, returns the cloud's ack.

It knows HTTP and the wire contract and nothing of the outbox: the gateway
decides what to send and what to delete. Every httpx failure is translated
here into :class:`UplinkUnavailable` (retry later) or :class:`UplinkRejected`
(the cloud refused the request), so no httpx type leaks upward.
"""

from __future__ import annotations

import json
import math
from types import TracebackType

import httpx

from edgeward.sync.batch import Batch, BatchAck, decode_ack, encode_batch
from edgeward.sync.errors import BatchFormatError, UplinkRejected, UplinkUnavailable

INGEST_PATH = "/v1/ingest/batches"


class UplinkClient:
    """One HTTP connection pool to the cloud, authenticated by the gateway credential."""

    def __init__(
        self,
        cloud_url: str,
        credential: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
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
        """Post ``batch``; return the ack once the cloud has stored all of it."""
        try:
            response = await self._client.post(
                INGEST_PATH,
                content=encode_batch(batch),
                headers={"Content-Type": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise UplinkUnavailable(f"cloud unreachable: {exc!r}") from exc
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
