"""Gzip-compressed batches: accepted, capped when inflated, refused when malformed."""

from __future__ import annotations

import gzip
import zlib

import httpx
import pytest

from edgeward.cloud.api.ingest import MAX_BATCH_BYTES
from tests.cloud.conftest import batch_body
from tests.cloud.test_ingest import new_source
from tests.peers.cloud import CloudServer, RegisteredGateway

INGEST = "/v1/ingest/batches"


def post(cloud: CloudServer, credential: str, body: bytes, encoding: str) -> httpx.Response:
    headers = {
        "Content-Type": "application/json",
        "Content-Encoding": encoding,
        "Authorization": f"Bearer {credential}",
    }
    with cloud.client() as client:
        return client.post(INGEST, content=body, headers=headers)


def stored(cloud: CloudServer, source: str) -> list[int]:
    token = cloud.token_with("readings:GET")
    return [int(r["seq"]) for r in cloud.all_readings(token, source)]  # type: ignore[call-overload]


@pytest.fixture
def gateway(api_cloud: CloudServer) -> RegisteredGateway:
    return api_cloud.add_gateway()


def test_a_gzip_batch_is_stored(api_cloud: CloudServer, gateway: RegisteredGateway) -> None:
    source = new_source(api_cloud, gateway)
    body = gzip.compress(batch_body(gateway.id, source, range(1, 201)))
    response = post(api_cloud, gateway.credential, body, "gzip")
    assert response.status_code == 200, response.text
    assert response.json()["stored"] == 200
    assert stored(api_cloud, source) == list(range(1, 201))


def test_a_zip_bomb_is_413_without_inflating_it_all(
    api_cloud: CloudServer, gateway: RegisteredGateway
) -> None:
    # 64 MiB of spaces squeeze into about 64 KiB: under the wire cap, far over the JSON cap.
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b" " * (1024 * 1024)
    bomb = b"".join(compressor.compress(chunk) for _ in range(64)) + compressor.flush()
    assert len(bomb) < MAX_BATCH_BYTES
    response = post(api_cloud, gateway.credential, bomb, "gzip")
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda body: body[: len(body) // 2], id="truncated"),
        pytest.param(lambda body: body + b"trailing", id="trailing-garbage"),
        pytest.param(lambda body: b"not gzip at all", id="not-gzip"),
    ],
)
def test_malformed_gzip_is_400_and_stores_nothing(
    api_cloud: CloudServer, gateway: RegisteredGateway, mangle: object
) -> None:
    source = new_source(api_cloud, gateway)
    body = gzip.compress(batch_body(gateway.id, source, range(1, 4)))
    response = post(api_cloud, gateway.credential, mangle(body), "gzip")  # type: ignore[operator]
    assert response.status_code == 400, response.text
    assert stored(api_cloud, source) == []


def test_an_unknown_encoding_is_415(api_cloud: CloudServer, gateway: RegisteredGateway) -> None:
    body = batch_body(gateway.id, "src-br", [1])
    response = post(api_cloud, gateway.credential, body, "br")
    assert response.status_code == 415, response.text
    assert response.json()["error"]["code"] == "unsupported_encoding"
