"""What the proxy costs a call: the same echo API called directly and through the cloud.

A local echo API (``http.server`` in a thread) answers a small JSON body. The
real cloud runs under uvicorn in its own process (``edgeward cloud serve``,
SQLite) with loopback allowed as a proxy destination. Each round sends the
same ``GET`` sequentially, once straight to the echo API with httpx and once
through ``/v1/proxy/http/127.0.0.1:<port>/...`` with an ``X-Api-Key: [~benchkey]``
header that the cloud fills from its keychain (authentication, secret
lookup and decryption, the SSRF check, the audit record, streaming back).
Rounds alternate which side goes first; the median per-call difference and
ratio are printed.

Run: ``make bench`` or ``.venv/bin/python bench/proxy_overhead.py``.
"""

from __future__ import annotations

import argparse
import secrets
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from edgeward.harness.local_cloud import LocalCloud

BODY = b'{"items": [1, 2, 3], "ok": true}'
SECRET = secrets.token_hex(16)


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this each answer
        # waits ~40 ms for the client's delayed ACK (Nagle).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        if self.headers.get("X-Api-Key") != SECRET:
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args: object) -> None:
        pass


def round_seconds(client: httpx.Client, path: str, headers: dict[str, str], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        response = client.get(path, headers=headers)
        if response.status_code != 200 or response.content != BODY:
            raise RuntimeError(f"unexpected answer: {response.status_code} {response.text[:200]}")
    return time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per round and side")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args(argv)
    echo = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    echo.daemon_threads = True
    threading.Thread(target=echo.serve_forever, daemon=True).start()
    echo_authority = f"127.0.0.1:{echo.server_address[1]}"
    with tempfile.TemporaryDirectory(prefix="edgeward-bench-proxy-") as temporary:
        env = {"EDGEWARD_CLOUD_PROXY_ALLOW_NETWORKS": "127.0.0.0/8"}
        cloud = LocalCloud(Path(temporary), env=env)
        cloud.start()
        try:
            direct, proxied = measure(cloud, echo_authority, args.calls, args.rounds)
        finally:
            cloud.stop()
            echo.shutdown()
    report(direct, proxied, args.calls)
    return 0


def measure(
    cloud: LocalCloud, echo_authority: str, calls: int, rounds: int
) -> tuple[list[float], list[float]]:
    """Per round, seconds per call directly and through the proxy."""
    account = cloud.create_account("bench", "bench@example.com")
    with cloud.client(account.owner_token) as owner:
        body = {"name": "benchkey", "value": SECRET, "hosts": ["127.0.0.1"]}
        owner.post("/v1/keychain", json=body).raise_for_status()
    token = cloud.create_token(account.owner_token, "proxy:GET")
    through = cloud.client(token)
    straight = httpx.Client(base_url=f"http://{echo_authority}")
    proxied_path = f"/v1/proxy/http/{echo_authority}/items"
    sides = {
        "direct": (straight, "/items", {"X-Api-Key": SECRET}),
        "proxied": (through, proxied_path, {"X-Api-Key": "[~benchkey]"}),
    }
    seconds: dict[str, list[float]] = {"direct": [], "proxied": []}
    try:
        for client, path, headers in sides.values():
            round_seconds(client, path, headers, 30)  # warm up connections and caches
        for index in range(rounds):
            order = ("direct", "proxied") if index % 2 == 0 else ("proxied", "direct")
            for side in order:
                client, path, headers = sides[side]
                seconds[side].append(round_seconds(client, path, headers, calls) / calls)
    finally:
        through.close()
        straight.close()
    return seconds["direct"], seconds["proxied"]


def report(direct: list[float], proxied: list[float], calls: int) -> None:
    overheads = [p - d for d, p in zip(direct, proxied, strict=True)]
    ratios = [p / d for d, p in zip(direct, proxied, strict=True)]
    print(
        f"GET to a local echo API: {len(direct)} paired rounds of {calls} sequential calls, "
        "directly with httpx vs through /v1/proxy with one [~secret] header"
    )
    print(f"  direct call:       {statistics.median(direct) * 1000:7.2f} ms (median per call)")
    print(f"  proxied call:      {statistics.median(proxied) * 1000:7.2f} ms (median per call)")
    print(
        f"proxy overhead per call: {statistics.median(overheads) * 1000:.2f} ms; "
        f"a proxied call takes {statistics.median(ratios):.1f}x the direct one"
    )


if __name__ == "__main__":
    raise SystemExit(main())
