"""Failed authentication and refused claim codes are rate-limited per client address (and
per token prefix)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from edgeward.cloud.auth import credentials
from edgeward.provisioning.keys import GatewayKeys
from edgeward.sync.claim_codes import generate
from tests.cloud.routes_catalog import signed_enrollment
from tests.peers.cloud import CloudServer

LIMIT = 3


@pytest.fixture
def strict_cloud(tmp_path: Path) -> Iterator[CloudServer]:
    server = CloudServer(tmp_path, f"sqlite:///{tmp_path / 'c.db'}", auth_failure_limit=LIMIT)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def call(cloud: CloudServer, secret: str, source_address: str) -> httpx.Response:
    transport = httpx.HTTPTransport(local_address=source_address)
    headers = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(base_url=cloud.url, transport=transport, headers=headers) as client:
        return client.get("/v1/account")


def well_formed_guess(secret: str, n: int) -> str:
    """Same kind and display prefix as ``secret``, a valid checksum, the wrong body."""
    body = secret[4:10] + str(n) * (credentials.BODY_LENGTH - 6)
    guess = f"ewt_{body}{credentials._checksum(body)}"
    assert credentials.kind_of(guess) == "ewt" and guess != secret
    return guess


def test_an_address_that_keeps_failing_gets_429(strict_cloud: CloudServer) -> None:
    good = strict_cloud.account.owner_token
    for attempt in range(LIMIT):
        assert call(strict_cloud, f"wrong-{attempt}", "127.0.0.1").status_code == 401
    limited = call(strict_cloud, good, "127.0.0.1")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert call(strict_cloud, good, "127.0.0.2").status_code == 200, "other addresses are fine"


def test_guesses_at_a_prefix_get_429_but_never_lock_out_its_holder(
    strict_cloud: CloudServer,
) -> None:
    good = strict_cloud.account.owner_token
    guesses = [well_formed_guess(good, n) for n in range(LIMIT + 1)]
    for guess, address in zip(guesses, ("127.0.0.3", "127.0.0.4", "127.0.0.5"), strict=False):
        assert call(strict_cloud, guess, address).status_code == 401
    assert call(strict_cloud, guesses[-1], "127.0.0.6").status_code == 429
    assert call(strict_cloud, good, "127.0.0.7").status_code == 200


def enroll_from(cloud: CloudServer, body: dict[str, str], source_address: str) -> httpx.Response:
    transport = httpx.HTTPTransport(local_address=source_address)
    with httpx.Client(base_url=cloud.url, transport=transport) as client:
        return client.post("/v1/enroll", json=body)


def test_refused_claim_codes_count_but_bad_signatures_do_not(strict_cloud: CloudServer) -> None:
    """Guessing codes is what the limit stops; a bad signature tested no code, so it doesn't
    count (and can't be used to lock an installer's address out)."""
    keys = GatewayKeys.generate()
    for _ in range(LIMIT + 1):
        forged = signed_enrollment(generate(), keys, signer=GatewayKeys.generate())
        assert enroll_from(strict_cloud, forged, "127.0.0.8").status_code == 403
    with strict_cloud.client(strict_cloud.account.owner_token) as owner:
        code = owner.post("/v1/claim-codes", json={}).raise_for_status().json()["code"]
    enrolled = enroll_from(strict_cloud, signed_enrollment(code, keys), "127.0.0.8")
    assert enrolled.status_code == 201, enrolled.text
    for _ in range(LIMIT):
        unknown = enroll_from(strict_cloud, signed_enrollment(generate(), keys), "127.0.0.9")
        assert unknown.json()["error"]["code"] == "claim_code_unknown"
    limited = enroll_from(strict_cloud, signed_enrollment(generate(), keys), "127.0.0.9")
    assert limited.status_code == 429
