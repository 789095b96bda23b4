"""A forwarding HTTP proxy in front of the real cloud that can close chosen paths.

Some tests need the cloud up for one conversation and down for another
(settings pulled while batches can't be delivered). The cloud itself stays
real; the gate only forwards bytes, or answers 503 for a closed path, the way
a load balancer does when a backend pool is drained.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

import httpx

HOP_BY_HOP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}
CLOSED_BODY = b'{"error":{"code":"unavailable","message":"closed by the test gate"}}'


class HttpGate:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.closed: set[str] = set()
        # (method, path, status) of every answer, for tests that check the conversation.
        self.answers: list[tuple[str, str, int]] = []
        gate = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                if path in gate.closed:
                    self._answer(503, {"Content-Type": "application/json"}, CLOSED_BODY)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                try:
                    response = httpx.request(
                        self.command,
                        gate.upstream + self.path,
                        headers=headers,
                        content=body,
                        timeout=30,
                    )
                except httpx.HTTPError:
                    self._answer(502, {}, b"")
                    return
                kept = {
                    k: v
                    for k, v in response.headers.items()
                    if k.lower() not in HOP_BY_HOP | {"content-encoding"}
                }
                self._answer(response.status_code, kept, response.content)

            def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
                gate.answers.append((self.command, self.path.split("?", 1)[0], status))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HttpGate:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
