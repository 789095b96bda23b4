"""The gateway's cloud client against real HTTP servers: it compresses batches and falls
back to plain JSON for a cloud that answers 415 to gzip (one released before
compression), and it turns every failure into the sync errors, the httpx one kept as
the cause."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from edgeward.sync.batch import Batch, BatchAck, WireReading, decode_batch, encode_ack
from edgeward.sync.client import CloudClient
from edgeward.sync.errors import CloudRejected, CloudUnavailable
from edgeward.sync.events import GatewayEvent
from edgeward.sync.remote_settings import SettingsReport
from edgeward.sync.security_events import SecurityEvent
from edgeward.sync.signed_documents import RegistryStore
from tests.peers.http_server import serving
from tests.peers.mosquitto import free_port


class OldCloud(BaseHTTPRequestHandler):
    """A real HTTP server that knows no Content-Encoding, like a cloud before gzip."""

    seen: ClassVar[list[str | None]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        encoding = self.headers.get("Content-Encoding")
        OldCloud.seen.append(encoding)
        if encoding is not None:
            self._answer(415, {"error": {"code": "unsupported", "message": "no encodings"}})
            return
        batch = decode_batch(body)
        ack = BatchAck(batch.gateway_id, len(batch.readings), 0, batch.readings[-1].seq)
        self._answer(200, encode_ack(ack))

    def _answer(self, status: int, document: object) -> None:
        data = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def old_cloud() -> Iterator[str]:
    OldCloud.seen = []
    with serving(OldCloud) as url:
        yield url


def batch(seq: int) -> Batch:
    reading = WireReading(seq, "meter-1", datetime(2026, 11, 26, tzinfo=UTC), {"v": 1.5})
    return Batch("gw-1a2b3c4d5e6f", (reading,))


def test_a_415_switches_the_client_to_plain_json_for_good(old_cloud: str) -> None:
    async def main() -> tuple[list[int], bool]:
        async with CloudClient(old_cloud, "ewg_test") as client:
            acks = [await client.post_batch(batch(1)), await client.post_batch(batch(2))]
            return [ack.highest_seq for ack in acks], client.compress

    highest, compress = asyncio.run(main())
    assert highest == [1, 2]
    assert compress is False
    # gzip once, refused; the same batch again in plain JSON; then plain only.
    assert OldCloud.seen == ["gzip", None, None]


def test_without_compression_no_encoding_is_sent_and_bytes_are_counted(old_cloud: str) -> None:
    async def main() -> tuple[int, int]:
        async with CloudClient(old_cloud, "ewg_test", compress=False) as client:
            await client.post_batch(batch(1))
            return client.body_bytes, client.wire_bytes

    body_bytes, wire_bytes = asyncio.run(main())
    assert body_bytes == wire_bytes > 0
    assert OldCloud.seen == [None]


Answer = tuple[int, dict[str, str], bytes]


class ScriptedCloud(BaseHTTPRequestHandler):
    """A real HTTP server that answers each path as the test says, noting every request."""

    answers: ClassVar[dict[str, Answer]] = {}
    seen: ClassVar[list[tuple[str, str, dict[str, str], bytes]]] = []

    def do_GET(self) -> None:
        self._answer_for(b"")

    def do_POST(self) -> None:
        self._answer_for(self.rfile.read(int(self.headers["Content-Length"])))

    def _answer_for(self, body: bytes) -> None:
        ScriptedCloud.seen.append((self.command, self.path, dict(self.headers), body))
        status, headers, data = ScriptedCloud.answers.get(self.path, (404, {}, b""))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def scripted() -> Iterator[str]:
    ScriptedCloud.answers, ScriptedCloud.seen = {}, []
    with serving(ScriptedCloud) as url:
        yield url


def error(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


def call(url: str, name: str, *args: object) -> object:
    async def main() -> object:
        async with CloudClient(url, "ewg_test") as client:
            return await getattr(client, name)(*args)

    return asyncio.run(main())


NOW = datetime(2026, 11, 26, tzinfo=UTC)
EVENTS = [GatewayEvent(1, "dropped", NOW, NOW, 3, 1, 3, "quota")]
REFUSALS = [SecurityEvent("meter-9", "unknown-source", NOW, NOW, NOW, 2)]


def test_an_unreachable_cloud_is_unavailable_with_the_httpx_error_as_cause() -> None:
    with pytest.raises(CloudUnavailable) as raised:
        call(f"http://127.0.0.1:{free_port()}", "post_batch", batch(1))
    assert "cloud unreachable" in str(raised.value)
    assert isinstance(raised.value.__cause__, httpx.ConnectError)


def test_a_busy_cloud_is_unavailable_for_as_long_as_it_asks(scripted: str) -> None:
    ScriptedCloud.answers["/v1/ingest/batches"] = (503, {"Retry-After": "7"}, b"")
    with pytest.raises(CloudUnavailable) as raised:
        call(scripted, "post_batch", batch(1))
    assert raised.value.retry_after == 7.0


def test_a_refused_batch_carries_the_clouds_code_and_message(scripted: str) -> None:
    ScriptedCloud.answers["/v1/ingest/batches"] = (422, {}, error("invalid", "seq 0"))
    with pytest.raises(CloudRejected) as raised:
        call(scripted, "post_batch", batch(1))
    assert (raised.value.status_code, raised.value.code, raised.value.call) == (
        422,
        "invalid",
        "batch",
    )
    # The outbox keeps this text as the reason readings were set aside.
    assert str(raised.value) == "cloud refused the batch (422 invalid): seq 0"


def test_an_ack_for_another_batch_is_not_taken(scripted: str) -> None:
    ack = BatchAck("gw-000000000000", 1, 0, 1)
    ScriptedCloud.answers["/v1/ingest/batches"] = (200, {}, json.dumps(encode_ack(ack)).encode())
    with pytest.raises(CloudUnavailable, match="ack does not match"):
        call(scripted, "post_batch", batch(1))


@pytest.mark.parametrize(
    ("name", "args", "path", "call_name"),
    [
        ("post_gateway_events", ("gw-1a2b3c4d5e6f", EVENTS), "/v1/ingest/events", "gateway events"),
        (
            "post_security_events",
            ("gw-1a2b3c4d5e6f", REFUSALS),
            "/v1/ingest/security-events",
            "security events",
        ),
        (
            "post_settings_report",
            (SettingsReport("gw-1a2b3c4d5e6f", 3),),
            "/v1/ingest/settings-report",
            "settings report",
        ),
    ],
)
def test_reports_are_delivered_only_on_2xx(
    scripted: str, name: str, args: tuple[object, ...], path: str, call_name: str
) -> None:
    ScriptedCloud.answers[path] = (403, {}, error("forbidden", "not yours"))
    with pytest.raises(CloudRejected) as refused:
        call(scripted, name, *args)
    assert (refused.value.code, refused.value.call) == ("forbidden", call_name)
    # A redirect is not a delivery: the report stays to be sent again.
    ScriptedCloud.answers[path] = (302, {"Location": "https://elsewhere/"}, b"")
    with pytest.raises(CloudRejected) as redirected:
        call(scripted, name, *args)
    assert redirected.value.status_code == 302
    ScriptedCloud.answers[path] = (204, {}, b"")
    assert call(scripted, name, *args) is None
    method, seen_path, headers, body = ScriptedCloud.seen[-1]
    assert (method, seen_path) == ("POST", path)
    assert headers["Authorization"] == "Bearer ewg_test"
    assert headers["Content-Type"] == "application/json"
    assert "Content-Encoding" not in headers, "only batches are compressed"
    assert json.loads(body)["gateway_id"] == "gw-1a2b3c4d5e6f"


@pytest.mark.parametrize(
    "answer",
    [
        b"not json",
        json.dumps({"public_key": "A" * 43 + "=", "algorithm": "rsa"}).encode(),
        json.dumps({"public_key": "c2hvcnQ=", "algorithm": "ed25519"}).encode(),
    ],
    ids=["not-json", "not-ed25519", "short-key"],
)
def test_a_public_key_of_the_wrong_shape_is_never_returned(scripted: str, answer: bytes) -> None:
    ScriptedCloud.answers["/v1/registry/public-key"] = (200, {}, answer)
    with pytest.raises(CloudUnavailable, match="no usable Ed25519 public key"):
        call(scripted, "get_public_key")


def test_an_unchanged_registry_is_a_304_and_a_refused_one_names_the_call(
    scripted: str, tmp_path: Path
) -> None:
    store = RegistryStore(tmp_path / "registry.json", "A" * 43 + "=")
    ScriptedCloud.answers["/v1/registry"] = (304, {}, b"")
    assert call(scripted, "get_registry", store, '"v7"') is None
    assert ScriptedCloud.seen[-1][2]["If-None-Match"] == '"v7"'
    ScriptedCloud.answers["/v1/registry"] = (403, {}, error("gateway_disabled", "disabled"))
    with pytest.raises(CloudRejected, match=r"cloud refused the registry \(403 gateway_disabled\)"):
        call(scripted, "get_registry", store, None)
    assert "If-None-Match" not in ScriptedCloud.seen[-1][2]
    assert not store.path.exists()
