"""A real HTTP server standing in for an account's automated support."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Behaviour:
    fail_first: int = 0  # answer 500 to this many requests before succeeding
    received: list[Received] = field(default_factory=list)
    answered: int = 0


class WebhookReceiver:
    def __init__(self, fail_first: int = 0) -> None:
        behaviour = self.behaviour = Behaviour(fail_first=fail_first)
        lock = self.lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    behaviour.answered += 1
                    failing = behaviour.answered <= behaviour.fail_first
                    if not failing:
                        behaviour.received.append(Received(dict(self.headers), body))
                self.send_response(500 if failing else 204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/edgeward"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def received(self) -> list[Received]:
        with self.lock:
            return list(self.behaviour.received)

    @property
    def answered(self) -> int:
        with self.lock:
            return self.behaviour.answered

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
