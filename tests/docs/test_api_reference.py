"""The cloud API page names every route of the app and the grant it needs."""

from __future__ import annotations

import importlib.util
import re
import sys
from types import ModuleType
from typing import Any

import pytest

from tests.docs.pages import DOCS


@pytest.fixture(scope="module")
def hook() -> ModuleType:
    path = DOCS / "hooks" / "openapi_reference.py"
    spec = importlib.util.spec_from_file_location("openapi_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def built(hook: ModuleType) -> tuple[dict[str, Any], dict[tuple[str, str], str | None], str]:
    document, apis = hook.build_document()
    return document, apis, hook.render(document, apis)


def test_every_route_is_on_the_page_with_its_grant(
    built: tuple[dict[str, Any], dict[tuple[str, str], str | None], str],
) -> None:
    document, apis, page = built
    sections = dict(re.findall(r"^### `(\w+ \S+)`\n(.*?)(?=^##)", page, re.MULTILINE | re.DOTALL))
    operations = [
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "delete")
    ]
    assert len(operations) >= 90
    assert sorted(sections) == sorted(f"{method} {path}" for method, path in operations)
    for method, path in operations:
        api = apis[(method, path)]
        grant = "public: no credential" if api is None else f"`{api}:{method}`"
        assert f"- Grant: {grant}\n" in sections[f"{method} {path}"], (method, path)


def test_grants_come_from_the_routes(
    built: tuple[dict[str, Any], dict[tuple[str, str], str | None], str],
) -> None:
    _, apis, page = built
    assert apis[("POST", "/v1/ingest/batches")] == "ingest"
    assert apis[("GET", "/v1/readings")] == "readings"
    # /v1/proxy/{target:path} in the app, /v1/proxy/{target} in the document.
    assert apis[("PUT", "/v1/proxy/{target}")] == "proxy"
    assert apis[("POST", "/v1/enroll")] is None
    assert "| installer | `accounts:GET`" in page
    assert "[NewToken](#schema-newtoken)" in page
    assert "### NewToken {#schema-newtoken}" in page


def test_a_route_without_a_declared_api_fails_the_build(
    hook: ModuleType, built: tuple[dict[str, Any], dict[tuple[str, str], str | None], str]
) -> None:
    document, apis, _ = built
    stray = {**document, "paths": {**document["paths"], "/v1/stray": {"get": {"tags": ["x"]}}}}
    with pytest.raises(LookupError, match="GET /v1/stray"):
        hook.render(stray, apis)
