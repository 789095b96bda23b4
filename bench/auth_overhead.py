"""What authentication costs a request: the same route with it on and off, in one run.

Two copies of the real cloud app serve the same SQLite database under uvicorn,
each in its own process. One authenticates every request as production does
(keyed hash, one indexed lookup, grant check); the other has its
authenticator swapped for one that returns a fixed principal without looking
at the request. A client sends the same ``GET /v1/readings`` to both,
alternating rounds so that the shared machine's noise falls on both alike, and
the median of the paired rounds' ratios is reported. Target: authentication costs under 15%.

Run: ``make bench`` or ``.venv/bin/python bench/auth_overhead.py``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import uvicorn
from fastapi import Request

from edgeward.cloud.api.app import create_app
from edgeward.cloud.config.settings import CloudSettings
from edgeward.cloud.crypto.keys import SealedBox
from edgeward.cloud.datasources.sources import create_source
from edgeward.cloud.fleet.gateways import add_gateway
from edgeward.cloud.identity.accounts import create_account
from edgeward.cloud.identity.principal import Principal
from edgeward.cloud.identity.tokens import authenticate
from edgeward.cloud.storage.database import Database
from edgeward.sync.batch import Batch, WireReading
from edgeward.sync.clock import from_us, now_us

TARGET = 0.15
READINGS = 20
SOURCE = "meter-1"


class FixedPrincipal:
    """Authentication off: every request is the given principal, unchecked."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    def authenticate(self, request: Request) -> Principal:
        return self.principal


def serve(data_dir: str, authenticated: bool, port_file: str, token: str) -> None:
    """Child process: the real app on a free port, with or without authentication."""
    settings = CloudSettings.load(Path(data_dir))
    app = create_app(settings)
    if not authenticated:
        with app.state.database.engine.begin() as connection:
            result = authenticate(connection, settings.pepper, token, now_us())
        assert result.principal is not None
        app.state.authenticator = FixedPrincipal(result.principal)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.bind(("127.0.0.1", 0))
    Path(port_file).write_text(str(listener.getsockname()[1]))
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[listener])


def seed(data_dir: Path) -> str:
    """An account, a gateway with a few readings, and a read token; returns the token."""
    settings = CloudSettings.load(data_dir)
    database = Database(settings.db_url)
    database.migrate()
    from edgeward.cloud.identity.tokens import issue
    from edgeward.cloud.readings.store import store_batch

    with database.engine.begin() as connection:
        now = now_us()
        account = create_account(connection, settings.pepper, "bench", "b@x.io", now)
        gateway = add_gateway(connection, settings.pepper, account.account_id, "gw", now)
        source = {
            "name": SOURCE,
            "type_id": "builtin:modbus-power-meter",
            "gateway_id": gateway.id,
            "binding": {"bus": "bench", "unit": 1},
        }
        box = SealedBox.from_data_dir(data_dir)
        create_source(connection, box, account.account_id, source, now)
        readings = tuple(
            WireReading(seq, SOURCE, from_us(now + seq), {"power": seq * 1.5})
            for seq in range(1, READINGS + 1)
        )
        store_batch(connection, box, Batch(gateway.id, readings), account.account_id)
        token = issue(
            connection,
            settings.pepper,
            account_id=account.account_id,
            owner_kind="user",
            owner_id=account.owner_id,
            name="bench",
            grants={"readings": frozenset({"GET"})},
            expires_us=None,
            now=now,
        )
    database.dispose()
    return token.secret


def start(data_dir: Path, authenticated: bool, token: str) -> tuple[multiprocessing.Process, str]:
    port_file = data_dir / f"port-{authenticated}"
    process = multiprocessing.Process(
        target=serve, args=(str(data_dir), authenticated, str(port_file), token), daemon=True
    )
    process.start()
    deadline = time.monotonic() + 60
    while not port_file.exists() or not port_file.read_text():
        if time.monotonic() > deadline or not process.is_alive():
            raise RuntimeError("the cloud did not start")
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port_file.read_text()}"
    while True:
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                return process, url
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def round_seconds(client: httpx.Client, requests: int) -> float:
    params: dict[str, str | int] = {"source": SOURCE, "limit": 10}
    started = time.perf_counter()
    for _ in range(requests):
        response = client.get("/v1/readings", params=params)
        if response.status_code != 200 or len(response.json()["items"]) != 10:
            raise RuntimeError(f"unexpected answer: {response.status_code} {response.text[:200]}")
    return time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per round")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="edgeward-bench-auth-") as temporary:
        data_dir = Path(temporary)
        os.environ["EDGEWARD_CLOUD_PEPPER_FILE"] = str(data_dir / "pepper")
        token = seed(data_dir)
        servers = {on: start(data_dir, on, token) for on in (True, False)}
        try:
            ratios = measure(servers, token, args.requests, args.rounds)
        finally:
            for process, _ in servers.values():
                process.terminate()
                process.join(10)
    report(ratios, args.requests)
    return 0


def measure(
    servers: dict[bool, tuple[multiprocessing.Process, str]],
    token: str,
    requests: int,
    rounds: int,
) -> list[float]:
    """Per round, the authenticated round's time over the unauthenticated one's.

    Rounds alternate which server goes first, and the ratio is taken per pair,
    so that load arriving or leaving during the run falls on both sides.
    """
    headers = {"Authorization": f"Bearer {token}"}
    clients = {on: httpx.Client(base_url=url, headers=headers) for on, (_, url) in servers.items()}
    try:
        for client in clients.values():
            round_seconds(client, 50)  # warm up: connections, caches, first queries
        ratios = []
        for index in range(rounds):
            order = (True, False) if index % 2 == 0 else (False, True)
            seconds = {on: round_seconds(clients[on], requests) for on in order}
            ratios.append(seconds[True] / seconds[False])
    finally:
        for client in clients.values():
            client.close()
    return ratios


def report(ratios: list[float], requests: int) -> None:
    cost = statistics.median(ratios) - 1
    print(
        f"GET /v1/readings (10 readings per page): {len(ratios)} paired rounds of "
        f"{requests} sequential requests, authenticated vs authentication off"
    )
    print("per-round cost: " + " ".join(f"{ratio - 1:+.1%}" for ratio in ratios))
    verdict = "within" if cost < TARGET else "OVER"
    print(
        f"authentication costs {cost:+.1%} per request, median of the rounds "
        f"({verdict} the {TARGET:.0%} target)"
    )
    print(json.dumps({"auth_cost": round(cost, 4), "target": TARGET}))


if __name__ == "__main__":
    sys.exit(main())
