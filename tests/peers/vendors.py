"""Local stand-ins for third-party services, real HTTP servers on free ports.

:class:`EchoAPI` answers every call with what it received (method, raw path,
query, headers, body) as JSON, and keeps a record of each call so a test
can prove that nothing reached it. ``/redirect`` answers a 302, ``/hang``
holds its answer until the server stops (a vendor timeout), ``/cookie``
sets a cookie, ``/bytes/<n>`` streams ``n`` bytes.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # raw, as it arrived
    query: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        found = [v for k, v in self.headers if k.lower() == name.lower()]
        return found[0] if found else None


class EchoAPI:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Two writes per answer: no ~40 ms wait for a delayed ACK (Nagle).
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                call = Call(self.command, parts.path, parts.query, list(self.headers.items()), body)
                with api.lock:
                    api.calls.append(call)
                api.answer(self, call)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.authority = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.authority}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, handler: BaseHTTPRequestHandler, call: Call) -> None:
        if call.path == "/redirect":
            target = parse_qs(call.query).get("to", ["http://169.254.169.254/"])[0]
            self._send(handler, 302, b"", [("Location", target)])
        elif call.path == "/hang":
            self.release.wait(60)
            self._send(handler, 200, b"late", [])
        elif call.path.startswith("/bytes/"):
            size = int(call.path.rsplit("/", 1)[1])
            self._send(handler, 200, b"x" * size, [("Content-Type", "application/octet-stream")])
        else:
            extra = [("Set-Cookie", "vendor=1")] if call.path == "/cookie" else []
            self._send(handler, 200, json.dumps(describe(call)).encode(), extra)

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: list[tuple[str, str]]
    ) -> None:
        handler.send_response(status)
        for name, value in [("Content-Type", "application/json"), *headers]:
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("X-Vendor", "echo")
        handler.end_headers()
        handler.wfile.write(body)

    def taken(self) -> list[Call]:
        with self.lock:
            return list(self.calls)

    def __enter__(self) -> EchoAPI:
        self.thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def describe(call: Call) -> dict[str, Any]:
    return {
        "method": call.method,
        "path": call.path,
        "query": call.query,
        "headers": call.headers,
        "body": base64.b64encode(call.body).decode(),
    }


_shared: EchoAPI | None = None


def shared_echo() -> EchoAPI:
    """One echo API for the test process (the route catalog's proxy examples)."""
    global _shared
    if _shared is None:
        _shared = EchoAPI().__enter__()
    return _shared
