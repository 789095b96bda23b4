"""Data-source types and sources through the API, and the signed registry a gateway pulls."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edgeward.sync.errors import SpecError
from edgeward.sync.registry import SIGNATURE_HEADER, verify_registry
from tests.cloud.routes_catalog import TYPE_SPEC
from tests.peers.cloud import Account, CloudServer


@pytest.fixture
def account(api_cloud: CloudServer) -> Account:
    return api_cloud.new_account()


def owner(cloud: CloudServer, account: Account) -> httpx.Client:
    return cloud.client(account.owner_token)


def gateway_of(cloud: CloudServer, account: Account) -> dict[str, Any]:
    with owner(cloud, account) as client:
        return dict(client.post("/v1/gateways", json={"name": "gw"}).json())


def new_source(client: httpx.Client, **body: Any) -> httpx.Response:
    return client.post("/v1/data-sources", json=body)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"transport": "zigbee"}, "spec.transport"),
        ({"auth_mode": "trust-me"}, "spec.auth_mode"),
        ({"auth_mode": "sealed"}, "spec.sealed_for"),
        ({"decoder": {"framing": "morse", "fields": [{"name": "a"}]}}, "spec.decoder.framing"),
        (
            {"decoder": {"framing": {"kind": "morse"}, "fields": [{"name": "a"}]}},
            "spec.decoder.framing.kind",
        ),
        ({"format": "nmea"}, "spec.format"),
        ({"zz": 1}, "spec.zz"),
        (
            {"decoder": {"fields": [{"name": "a", "zz": 1}]}},
            "spec.decoder.fields[0].zz",
        ),
        (
            {
                "decoder": {
                    "fields": [{"name": "a"}],
                    "checksum": {"algorithm": "xor8", "field": "nope"},
                }
            },
            "spec.decoder.checksum.field",
        ),
        ({"fields": {"nope": {"unit": "C"}}}, "spec.fields.nope"),
        ({"fields": {"temperature": {"min": 5, "max": 1}}}, "spec.fields.temperature"),
        (
            {
                "transport": "modbus",
                "decoder": {"registers": [{"name": "v", "address": 1, "type": "float128"}]},
            },
            "spec.decoder.registers[0].type",
        ),
    ],
)
def test_a_bad_type_spec_is_422_naming_the_field(
    api_cloud: CloudServer, account: Account, change: dict[str, Any], field: str
) -> None:
    spec = {**TYPE_SPEC, **change}
    if change.get("transport") == "modbus":
        spec["fields"] = {}
    with owner(api_cloud, account) as client:
        response = client.post("/v1/data-source-types", json={"name": "t", "spec": spec})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field


def test_builtin_types_are_listed_and_read_only(api_cloud: CloudServer, account: Account) -> None:
    with owner(api_cloud, account) as client:
        listed = {t["id"]: t for t in client.get("/v1/data-source-types").json()["items"]}
        assert listed["builtin:modbus-power-meter"]["auth_mode"] == "bound"
        assert client.delete("/v1/data-source-types/builtin:modbus-power-meter").status_code == 409


def test_hmac_key_is_shown_once_and_kept_sealed(api_cloud: CloudServer, account: Account) -> None:
    gateway = gateway_of(api_cloud, account)
    with owner(api_cloud, account) as client:
        created = new_source(
            client,
            name="probe-1",
            type_id="builtin:mqtt-json-hmac",
            gateway_id=gateway["id"],
            binding={"topic": "t/1"},
        )
        assert created.status_code == 201, created.text
        key = created.json()["key"]
        assert len(base64.b64decode(key)) == 32
        shown_later = [
            client.get(f"/v1/data-sources/{created.json()['id']}").text,
            client.get("/v1/data-sources").text,
        ]
        rotated = client.post(
            f"/v1/data-sources/{created.json()['id']}/rotate-credentials", json={}
        ).json()
    assert all(key not in text for text in shown_later)
    assert rotated["key"] != key and rotated["credentials_rotated"]
    database = api_cloud.db_url
    if database.startswith("sqlite"):
        raw = (api_cloud.root / "cloud.db").read_bytes()
        wal = api_cloud.root / "cloud.db-wal"
        raw += wal.read_bytes() if wal.exists() else b""
        assert base64.b64decode(key) not in raw and key.encode() not in raw


def test_source_rules(api_cloud: CloudServer, account: Account) -> None:
    gateway = gateway_of(api_cloud, account)
    other = api_cloud.new_account("other")
    theirs = gateway_of(api_cloud, other)
    meter = {
        "name": "meter-9",
        "type_id": "builtin:modbus-power-meter",
        "gateway_id": gateway["id"],
    }
    with owner(api_cloud, account) as client:
        missing_unit = new_source(client, **meter, binding={"bus": "modbus-tcp://10.0.0.5:502"})
        assert (missing_unit.status_code, missing_unit.json()["error"]["field"]) == (
            422,
            "binding.unit",
        )
        bound = new_source(client, **meter, binding={"bus": "modbus-tcp://10.0.0.5:502", "unit": 3})
        assert bound.status_code == 201 and "key" not in bound.json()
        assert new_source(client, **meter, binding={"bus": "b", "unit": 1}).status_code == 409
        foreign = new_source(
            client,
            **{**meter, "name": "m2", "gateway_id": theirs["id"]},
            binding={"bus": "b", "unit": 1},
        )
        assert foreign.status_code == 404, "another account's gateway does not exist for us"
        rotate_bound = client.post(
            f"/v1/data-sources/{bound.json()['id']}/rotate-credentials", json={}
        )
        assert rotate_bound.status_code == 409


def test_ed25519_source_takes_only_a_public_key(api_cloud: CloudServer, account: Account) -> None:
    gateway = gateway_of(api_cloud, account)
    spec = {**TYPE_SPEC, "auth_mode": "ed25519"}
    public = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    with owner(api_cloud, account) as client:
        type_id = client.post("/v1/data-source-types", json={"name": "e", "spec": spec}).json()[
            "id"
        ]
        body = {
            "name": "signer-1",
            "type_id": type_id,
            "gateway_id": gateway["id"],
            "binding": {"port": "/dev/ttyUSB0"},
        }
        assert new_source(client, **body, public_key="bm90IGEga2V5").status_code == 422
        created = new_source(client, **body, public_key=base64.b64encode(public).decode())
        assert created.status_code == 201 and "key" not in created.json()
        assert created.json()["public_key"] == base64.b64encode(public).decode()
        assert client.delete(f"/v1/data-source-types/{type_id}").status_code == 409, "in use"


def test_registry_is_signed_and_holds_only_the_gateways_sources(
    api_cloud: CloudServer, account: Account
) -> None:
    mine, other = (api_cloud.add_gateway(account.owner_token) for _ in range(2))
    with owner(api_cloud, account) as client:
        created = new_source(
            client,
            name="probe-7",
            type_id="builtin:mqtt-json-hmac",
            gateway_id=mine.id,
            binding={"topic": "t/7"},
        ).json()
        new_source(
            client,
            name="elsewhere",
            type_id="builtin:mqtt-json-hmac",
            gateway_id=other.id,
            binding={"topic": "t/8"},
        )
        client.put(f"/v1/data-sources/{created['id']}", json={"enabled": False})
        public_key = client.get("/v1/registry/public-key").json()["public_key"]
    with api_cloud.client(mine.credential) as gateway:
        response = gateway.get("/v1/registry")
        again = gateway.get("/v1/registry", headers={"If-None-Match": response.headers["ETag"]})
    signature = response.headers[SIGNATURE_HEADER].removeprefix("ed25519=")
    registry = verify_registry(response.content, signature, public_key)
    assert registry["gateway_id"] == mine.id
    assert [s["name"] for s in registry["sources"]] == ["probe-7"]
    (source,) = registry["sources"]
    assert source["enabled"] is False and source["key"] == created["key"]
    assert source["type"]["auth_mode"] == "hmac" and source["binding"] == {"topic": "t/7"}
    assert again.status_code == 304
    tampered = response.content.replace(b'"enabled":false', b'"enabled":true')
    with pytest.raises(SpecError):
        verify_registry(tampered, signature, public_key)
