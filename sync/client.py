"""The gateway's one client to the cloud: every call the gateway makes, one method each.

:class:`CloudClient` holds one connection pool to the cloud, authenticated by
the gateway credential, and makes every call the gateway needs, one method each:

- ``post_batch``: ``POST /v1/ingest/batches`` (gzip), for the uplink;
- ``post_gateway_events``: ``POST /v1/ingest/events``, for the uplink;
- ``post_security_events``: ``POST /v1/ingest/security-events``, for the
  admission gate;
- ``get_public_key``: ``GET /v1/registry/public-key``, for the registry pull's
  first contact;
- ``get_registry``: ``GET /v1/registry`` (``If-None-Match``), for the registry pull;
- ``get_settings``: ``GET /v1/registry/settings`` (the same), for remote settings;
- ``post_settings_report``: ``POST /v1/ingest/settings-report``, for remote settings.

It knows HTTP and the wire contract and nothing of the gateway: the gateway
decides what to send, what to keep and what to delete. Every httpx failure
is translated here (``raise ... from``) into :class:`CloudUnavailable`
(retry later) or :class:`CloudRejected` (the cloud refused the call), so this
is the one module of the gateway and of sync that imports httpx (a test
reads their imports).
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import math
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from edgeward.sync.batch import INGEST_PATH, Batch, BatchAck, decode_ack, encode_batch
from edgeward.sync.errors import BatchFormatError, CloudRejected, CloudUnavailable
from edgeward.sync.events import EVENTS_PATH, GatewayEvent, encode_events
from edgeward.sync.registry import PUBLIC_KEY_PATH, REGISTRY_PATH, SIGNATURE_HEADER
from edgeward.sync.remote_settings import (
    REPORT_PATH,
    SETTINGS_PATH,
    SettingsDocument,
    SettingsReport,
    encode_report,
)
from edgeward.sync.security_events import (
    SECURITY_EVENTS_PATH,
    SecurityEvent,
    encode_security_events,
)
from edgeward.sync.signed_documents import Signed, SignedStore

# Level 5 of zlib: most of level 9's ratio on repetitive JSON at a fraction of the CPU.
GZIP_LEVEL = 5
UNSUPPORTED_MEDIA_TYPE = 415
NOT_MODIFIED = 304
JSON = {"Content-Type": "application/json"}
T = TypeVar("T")


class CloudClient:
    """One HTTP connection pool to the cloud, authenticated by the gateway credential.

    Whoever builds it closes it, once (``async with`` or :meth:`aclose`); the
    gateway's service builds one per runtime and shares it with everything
    in that runtime that talks to the cloud.
    """

    def __init__(
        self, cloud_url: str, credential: str, *, timeout: float = 10.0, compress: bool = True
    ) -> None:
        self.compress = compress
        # Bytes of batch bodies before and after compression, for the gateway's metrics.
        self.body_bytes = 0
        self.wire_bytes = 0
        self._client = httpx.AsyncClient(
            base_url=cloud_url.rstrip("/"),
            headers={"Authorization": f"Bearer {credential}"},
            timeout=timeout,
        )

    async def __aenter__(self) -> Self:
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

    async def post_batch(self, batch: Batch) -> BatchAck:
        """Post ``batch``; return the ack once the cloud has stored all of it.

        The body is gzip-compressed (``Content-Encoding: gzip``, RFC 9110 §8.4)
        unless the cloud answered 415 to that once: then this client sends
        plain JSON from then on, so a gateway upgraded before its cloud still
        delivers.
        """
        body = encode_batch(batch)
        response = await self._post_batch_body(body)
        if response.status_code == UNSUPPORTED_MEDIA_TYPE and self.compress:
            self.compress = False
            response = await self._post_batch_body(body)
        _check(response, "batch")
        try:
            ack = decode_ack(response.content)
        except BatchFormatError as exc:
            # A proxy answering 200 with something else: nothing is known stored.
            raise CloudUnavailable(f"cloud sent an unreadable ack: {exc}") from exc
        if ack.gateway_id != batch.gateway_id or ack.acknowledged != len(batch.readings):
            raise CloudUnavailable(
                f"ack does not match the batch: {ack.acknowledged} of "
                f"{len(batch.readings)} readings for {ack.gateway_id}"
            )
        return ack

    async def post_gateway_events(self, gateway_id: str, events: list[GatewayEvent]) -> None:
        """Report gateway events (plain JSON: they are few and small)."""
        await self._post_json(EVENTS_PATH, encode_events(gateway_id, events), "gateway events")

    async def post_security_events(self, gateway_id: str, events: list[SecurityEvent]) -> None:
        """Report refused readings, aggregated per window (few rows, whatever the flood)."""
        body = encode_security_events(gateway_id, events)
        await self._post_json(SECURITY_EVENTS_PATH, body, "security events")

    async def post_settings_report(self, report: SettingsReport) -> None:
        """Tell the cloud which settings version runs here, and the last one refused."""
        await self._post_json(REPORT_PATH, encode_report(report), "settings report")

    async def get_public_key(self) -> str:
        """The cloud's Ed25519 signing key (base64), checked for shape before anyone pins it."""
        response = await self._request("GET", PUBLIC_KEY_PATH)
        _check(response, "registry public key")
        try:
            document = response.json()
            key = str(document["public_key"])
            raw = base64.b64decode(key, validate=True)
            if document.get("algorithm") != "ed25519" or len(raw) != 32:
                raise ValueError(key)
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise CloudUnavailable("the cloud sent no usable Ed25519 public key") from exc
        return key

    async def get_registry(
        self, store: SignedStore[dict[str, Any]], etag: str | None
    ) -> Signed[dict[str, Any]] | None:
        """A newer registry, verified with ``store``'s key (not saved), or None if unchanged."""
        return await self._get_signed(REGISTRY_PATH, store, etag, "registry")

    async def get_settings(
        self, store: SignedStore[SettingsDocument], etag: str | None
    ) -> Signed[SettingsDocument] | None:
        """A newer settings document, verified with ``store``'s key (not saved), or None."""
        return await self._get_signed(SETTINGS_PATH, store, etag, "settings")

    async def _get_signed(
        self, path: str, store: SignedStore[T], etag: str | None, call: str
    ) -> Signed[T] | None:
        """Raises the verifier's :class:`~edgeward.sync.errors.SyncError` for a bad
        signature or content, besides this client's errors."""
        headers = {"If-None-Match": etag} if etag else {}
        response = await self._request("GET", path, headers=headers)
        if response.status_code == NOT_MODIFIED:
            return None
        _check(response, call)
        signature = response.headers.get(SIGNATURE_HEADER, "")
        return store.verified(response.content, signature, response.headers.get("ETag", ""))

    async def _post_json(self, path: str, body: bytes, call: str) -> None:
        _check(await self._request("POST", path, content=body, headers=JSON), call)

    async def _post_batch_body(self, body: bytes) -> httpx.Response:
        headers = dict(JSON)
        content = body
        if self.compress:
            content = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
            headers["Content-Encoding"] = "gzip"
        response = await self._request("POST", INGEST_PATH, content=content, headers=headers)
        self.body_bytes += len(body)
        self.wire_bytes += len(content)
        return response

    async def _request(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        try:
            return await self._client.request(method, path, content=content, headers=headers)
        except httpx.HTTPError as exc:
            raise CloudUnavailable(f"cloud unreachable: {exc!r}") from exc


def _check(response: httpx.Response, call: str) -> None:
    """Raise unless the cloud answered 2xx.

    429 and 5xx are worth retrying (with the cloud's Retry-After); anything
    else is a refusal, a redirect included: the client follows none (httpx's
    default), so a cloud URL that redirects is a configuration to fix.
    """
    status = response.status_code
    if status == 429 or status >= 500:
        raise CloudUnavailable(
            f"cloud answered {status}",
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    if not response.is_success:
        code, message = _error_fields(response)
        raise CloudRejected(status, code, message, call=call)


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


__all__ = ["CloudClient", "parse_retry_after"]
