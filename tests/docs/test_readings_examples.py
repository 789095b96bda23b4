"""The examples of docs/developers/readings.md, run against a real cloud holding the page's
readings: each curl's answer must be the JSON shown after it (ids and cursors aside)."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.cloud.test_ingest import post
from tests.docs.pages import DOCS, Block, blocks
from tests.peers.cloud import CloudServer

PAGE = DOCS / "developers" / "readings.md"
# (source, seq, time, power, voltage): what the page's answers are computed from.
READINGS = [
    ("meter-1", 1, "12:00:00", 900.0, 230.0),
    ("meter-1", 2, "12:00:30", 910.5, 230.4),
    ("meter-1", 3, "12:01:00", 900.0, 230.1),
    ("meter-1", 4, "12:01:30", 902.0, 230.3),
    ("meter-2", 5, "12:02:00", 930.0, 229.5),
    ("meter-2", 6, "12:02:30", 935.0, 229.6),
    ("meter-1", 7, "12:03:00", 912.0, 231.2),
    ("meter-2", 8, "12:03:30", 940.5, 229.8),
]


def examples() -> list[tuple[Block, Block]]:
    """Each curl block of the page with the JSON block right after it."""
    page = [block for block in blocks() if block.path == PAGE]
    pairs = [
        (block, following)
        for block, following in itertools.pairwise(page)
        if block.language == "sh" and following.language == "json"
    ]
    assert len(pairs) == 3, "the page's three examples"
    return pairs


@pytest.fixture(scope="module")
def documented_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CloudServer, str]]:
    root: Path = tmp_path_factory.mktemp("readings-docs")
    cloud = CloudServer(root, f"sqlite:///{root / 'cloud.db'}").start()
    try:
        gateway = cloud.add_gateway(sources=["meter-1", "meter-2"])
        body = {
            "format": "edgeward.batch",
            "version": 1,
            "gateway_id": gateway.id,
            "readings": [
                {
                    "seq": seq,
                    "source": source,
                    "time": f"2026-11-26T{time}Z",
                    "values": {"power": power, "voltage": voltage},
                }
                for source, seq, time, power, voltage in READINGS
            ],
        }
        assert post(cloud, gateway.credential, json.dumps(body).encode()).json()["stored"] == 8
        yield cloud, cloud.token_with("readings:GET")
    finally:
        cloud.stop()


def normalized(document: Any) -> Any:
    """Gateway ids and cursors differ per run: keep only that they are strings."""
    if isinstance(document, dict):
        return {
            key: "<string>"
            if key in ("gateway_id", "next_cursor") and isinstance(value, str)
            else normalized(value)
            for key, value in document.items()
        }
    if isinstance(document, list):
        return [normalized(item) for item in document]
    return document


@pytest.mark.parametrize("index", range(3))
def test_each_example_answers_what_the_page_shows(
    documented_cloud: tuple[CloudServer, str], index: int
) -> None:
    cloud, token = documented_cloud
    command, answer = examples()[index]
    (url,) = re.findall(r'"(https://cloud\.example/[^"]+)"', command.text)
    assert 'Authorization: Bearer ewt_..."' in command.text, command.where()
    parts = urlsplit(url)
    with cloud.client(token) as client:
        response = client.get(f"{parts.path}?{parts.query}")
    assert response.status_code == 200, f"{command.where()}: {response.text}"
    assert normalized(response.json()) == normalized(json.loads(answer.text)), answer.where()
