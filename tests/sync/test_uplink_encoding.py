"""The uplink client compresses batches, and falls back to plain JSON for a cloud
that answers 415 to gzip (one released before compression)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from edgeward.sync.batch import Batch, BatchAck, WireReading, decode_batch, encode_ack
from edgeward.sync.client import UplinkClient


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
    server = ThreadingHTTPServer(("127.0.0.1", 0), OldCloud)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def batch(seq: int) -> Batch:
    reading = WireReading(seq, "meter-1", datetime(2026, 11, 26, tzinfo=UTC), {"v": 1.5})
    return Batch("gw-1a2b3c4d5e6f", (reading,))


def test_a_415_switches_the_client_to_plain_json_for_good(old_cloud: str) -> None:
    async def main() -> tuple[list[int], bool]:
        async with UplinkClient(old_cloud, "ewg_test") as client:
            acks = [await client.send(batch(1)), await client.send(batch(2))]
            return [ack.highest_seq for ack in acks], client.compress

    highest, compress = asyncio.run(main())
    assert highest == [1, 2]
    assert compress is False
    # gzip once, refused; the same batch again in plain JSON; then plain only.
    assert OldCloud.seen == ["gzip", None, None]


def test_without_compression_no_encoding_is_sent_and_bytes_are_counted(old_cloud: str) -> None:
    async def main() -> tuple[int, int]:
        async with UplinkClient(old_cloud, "ewg_test", compress=False) as client:
            await client.send(batch(1))
            return client.body_bytes, client.wire_bytes

    body_bytes, wire_bytes = asyncio.run(main())
    assert body_bytes == wire_bytes > 0
    assert OldCloud.seen == [None]
