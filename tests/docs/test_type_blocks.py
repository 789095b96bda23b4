"""Every data-source type the docs show is created by the real cloud, examples decoded.

The cloud decodes a type's examples when it is created and refuses the type
if one does not decode exactly to the values it gives, so a type in the docs
that stopped decoding (or stopped being valid) fails here.
"""

from __future__ import annotations

from edgeward.sync.source_types.builtin import BUILTIN
from tests.docs.pages import blocks, documented_types
from tests.peers.cloud import CloudServer


def test_every_documented_type_is_created_with_its_examples(api_cloud: CloudServer) -> None:
    types = documented_types()
    assert len(types) >= 5, "a type per transport in docs/reference/source-types.md"
    assert {body["transport"] for _, body in types} == {"modbus", "serial", "ble", "mqtt"}
    token = api_cloud.token_with("data-source-types:POST")
    with api_cloud.client(token) as client:
        for where, body in types:
            assert body.get("examples"), f"{where}: a documented type shows what it decodes"
            created = client.post("/v1/data-source-types", json={"name": where, "spec": body})
            assert created.status_code == 201, f"{where}: {created.text}"


def test_a_type_whose_example_does_not_decode_is_refused(api_cloud: CloudServer) -> None:
    _, body = documented_types()[0]
    wrong = {**body, "examples": [{**body["examples"][0], "hex": "00"}]}
    token = api_cloud.token_with("data-source-types:POST")
    with api_cloud.client(token) as client:
        refused = client.post("/v1/data-source-types", json={"name": "wrong", "spec": wrong})
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "spec.examples[0]"


def test_every_built_in_type_is_listed_by_the_docs() -> None:
    page = next(b.path for b in blocks("json") if b.path.name == "source-types.md").read_text()
    for type_id in BUILTIN:
        assert f"`{type_id}`" in page, f"{type_id} is in the built-in types table"
