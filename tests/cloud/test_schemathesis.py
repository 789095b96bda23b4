"""Property-based requests from the app's own OpenAPI document (schemathesis),
authenticated as an account owner, against the real cloud: no input makes it fail
with a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.peers.cloud import CloudServer

# Slow: generated requests over the whole API: half a minute.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def owned_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    root: Path = tmp_path_factory.mktemp("schemathesis")
    server = CloudServer(root, f"sqlite:///{root / 'cloud.db'}").start()
    try:
        yield server
    finally:
        server.stop()


OAUTH_PAGES = {"/oauth2/authorize"}

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)


def test_no_request_makes_the_api_fail(owned_cloud: CloudServer) -> None:
    # Driven through hypothesis directly: schemathesis' pytest plugin does not
    # run under pytest 9 (it reaches for a private Function._nodeid).
    schema = schemathesis.openapi.from_url(f"{owned_cloud.url}/openapi.json")
    headers = {"Authorization": f"Bearer {owned_cloud.account.owner_token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20

    for operation in operations:

        @SETTINGS
        @given(case=operation.as_strategy())
        def no_server_error(case: Any) -> None:
            response = case.call(base_url=owned_cloud.url, headers=headers)
            where = f"{case.method} {case.formatted_path}"
            assert response.status_code < 500, f"{where}: {response.text}"
            if response.status_code >= 400:
                (content_type,) = response.headers["content-type"]
                if case.path in OAUTH_PAGES:
                    # The consent page answers a browser: an HTML page naming the error.
                    assert content_type.startswith("text/html"), where
                elif case.path.startswith("/oauth2/"):
                    # RFC 6749 section 5.2: {"error": "<code>", "error_description"?}.
                    assert content_type.startswith("application/json"), where
                    assert isinstance(response.json()["error"], str), where
                else:
                    assert content_type.startswith("application/json"), where
                    assert set(response.json()["error"]) >= {"code", "message"}, where

        no_server_error()
