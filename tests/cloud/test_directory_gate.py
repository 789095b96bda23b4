"""The bound on directory connections: parallel sign-ins against a real slapd never hold
more slots than an account allows, each gets its own identity back, and one that can't
get a slot in time is a 503 ``directory_busy`` rather than a queue without end."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from edgeward.cloud.directory import bind
from edgeward.cloud.directory.gate import DirectoryBusy, DirectoryGate
from edgeward.cloud.directory.settings import validate
from tests.peers.cloud import CloudServer
from tests.peers.slapd import SERVICE_PASSWORD, Slapd, directory_settings, search_bind

LIMIT = 3


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    with Slapd(tmp_path_factory.mktemp("slapd")) as server:
        yield server


def test_parallel_binds_stay_within_the_limit_and_keep_their_identities(slapd: Slapd) -> None:
    settings = validate(directory_settings(slapd, bind=search_bind()))
    gate = DirectoryGate()
    names = ["alice", "bob", "frank", "grace"] * 6

    def one(name: str) -> str:
        with gate.slot("acc-1", LIMIT, timeout=30):
            return bind.authenticate(settings, SERVICE_PASSWORD, name, f"{name}-pass").dn

    with ThreadPoolExecutor(max_workers=12) as pool:
        dns = list(pool.map(one, names))
    assert dns == [f"uid={name},ou=people,dc=example,dc=com" for name in names]
    assert 1 <= gate.peak["acc-1"] <= LIMIT
    assert gate.in_use["acc-1"] == 0


def test_no_slot_in_time_is_directory_busy() -> None:
    gate = DirectoryGate()
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with gate.slot("acc-1", 1, timeout=5):
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10)
        with pytest.raises(DirectoryBusy) as busy, gate.slot("acc-1", 1, timeout=0.05):
            pass
        assert (busy.value.status_code, busy.value.code) == (503, "directory_busy")
        with gate.slot("acc-2", 1, timeout=0.05):
            pass  # other accounts have their own slots
    finally:
        release.set()
        holder.join(10)


@pytest.mark.slow
def test_failed_sign_ins_are_rate_limited_per_address(slapd: Slapd, tmp_path: Path) -> None:
    cloud = CloudServer(tmp_path, f"sqlite:///{tmp_path / 'c.db'}", auth_failure_limit=LIMIT)
    cloud.start()
    try:
        account = cloud.new_account()
        with cloud.client(account.owner_token) as owner:
            owner.put("/v1/directory", json=directory_settings(slapd)).raise_for_status()

        def attempt(password: str, address: str) -> httpx.Response:
            body = {"account": account.id, "username": "bob", "password": password}
            transport = httpx.HTTPTransport(local_address=address)
            with httpx.Client(base_url=cloud.url, transport=transport) as client:
                return client.post("/v1/directory/sign-in", json=body)

        for n in range(LIMIT):
            assert attempt(f"guess-{n}", "127.0.0.1").status_code == 401
        limited = attempt("bob-pass", "127.0.0.1")
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "rate_limited"
        assert attempt("bob-pass", "127.0.0.2").status_code == 201, "other addresses are fine"
    finally:
        cloud.stop()
