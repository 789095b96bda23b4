"""Claim codes and enrollment against the real cloud: every refusal says which, once
enrolled the gateway's credential works, and the registry it got is signed."""

from __future__ import annotations

import base64
import ipaddress
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from edgeward.cloud.storage.schema import claim_codes
from edgeward.provisioning.keys import GatewayKeys
from edgeward.sync.claim_codes import generate, normalize
from edgeward.sync.provisioning import enrollment_message, sign
from edgeward.sync.registry import verify_registry
from tests.peers.cloud import Account, CloudServer


def keys() -> dict[str, str]:
    return {
        "identity_public_key": base64.b64encode(secrets.token_bytes(32)).decode(),
        "wireguard_public_key": base64.b64encode(secrets.token_bytes(32)).decode(),
    }


def new_code(cloud: CloudServer, account: Account, **body: Any) -> dict[str, Any]:
    with cloud.client(account.owner_token) as owner:
        response = owner.post("/v1/claim-codes", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def enroll(cloud: CloudServer, code: str, **extra: str) -> httpx.Response:
    with cloud.client() as anonymous:
        return anonymous.post("/v1/enroll", json={"claim_code": code, **keys(), **extra})


@pytest.fixture
def account(api_cloud: CloudServer) -> Account:
    return api_cloud.new_account()


def test_enrollment_gives_a_working_credential_and_a_signed_registry(
    api_cloud: CloudServer, account: Account
) -> None:
    claim = new_code(api_cloud, account, site="plant 4")
    with api_cloud.client(account.owner_token) as owner:
        assert claim["code"] not in owner.get("/v1/claim-codes").text
    response = enroll(api_cloud, claim["code"].lower().replace("-", " "), name="line-3")
    assert response.status_code == 201, response.text
    enrolled = response.json()
    assert enrolled["account_id"] == account.id and enrolled["site"] == "plant 4"
    assert ipaddress.ip_address(enrolled["tunnel_address"]) in ipaddress.ip_network("10.77.0.0/16")
    assert enrolled["wireguard"] is None, "no hub configured: no tunnel offered"
    registry = verify_registry(
        enrolled["registry"]["body"].encode(),
        enrolled["registry"]["signature"],
        enrolled["cloud"]["registry_public_key"],
    )
    assert registry["gateway_id"] == enrolled["gateway_id"]
    with api_cloud.client(enrolled["credential"]) as gateway:
        assert gateway.get("/v1/registry").status_code == 200
    with api_cloud.client(account.owner_token) as owner:
        assert owner.get(f"/v1/claim-codes/{claim['id']}").json()["status"] == "used"
        listed = owner.get(f"/v1/gateways/{enrolled['gateway_id']}")
        assert listed.status_code == 200 and listed.json()["name"] == "line-3"


def test_every_refusal_says_which(api_cloud: CloudServer, account: Account) -> None:
    used = new_code(api_cloud, account)
    assert enroll(api_cloud, used["code"]).status_code == 201
    revoked = new_code(api_cloud, account)
    expired = new_code(api_cloud, account)
    with api_cloud.client(account.owner_token) as owner:
        assert owner.delete(f"/v1/claim-codes/{revoked['id']}").status_code == 204
    _, database = api_cloud._open_storage()
    with database.engine.begin() as connection:
        connection.execute(
            sa.update(claim_codes).where(claim_codes.c.id == expired["id"]).values(expires_us=1)
        )
    good = generate()
    typo = good[:-1] + ("0" if good[-1] != "0" else "1")
    cases = {
        typo: (422, "claim_code_typo"),
        generate(): (404, "claim_code_unknown"),
        used["code"]: (409, "claim_code_used"),
        revoked["code"]: (410, "claim_code_revoked"),
        expired["code"]: (410, "claim_code_expired"),
    }
    for code, (status, error_code) in cases.items():
        response = enroll(api_cloud, code)
        assert (response.status_code, response.json()["error"]["code"]) == (status, error_code)
    with api_cloud.client(account.owner_token) as owner:
        events = owner.get("/v1/audit-events", params={"event": "provisioning.claim-refused"})
    reasons = sorted(e["details"]["reason"] for e in events.json()["items"])
    assert reasons == ["expired", "revoked", "used"], "refusals of the account's codes are audited"


def test_bad_keys_leave_the_code_usable(api_cloud: CloudServer, account: Account) -> None:
    claim = new_code(api_cloud, account)
    with api_cloud.client() as anonymous:
        bad = anonymous.post(
            "/v1/enroll",
            json={**keys(), "claim_code": claim["code"], "wireguard_public_key": "c2hvcnQ="},
        )
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "wireguard_public_key"
    assert enroll(api_cloud, claim["code"]).status_code == 201


def _signed(code: str, gateway: GatewayKeys, signer: GatewayKeys | None = None) -> dict[str, str]:
    """An enrollment as the installer sends it, signed by ``signer`` (default: its own key)."""
    message = enrollment_message(normalize(code), gateway.identity_public, gateway.wireguard_public)
    return {
        "claim_code": code,
        "identity_public_key": gateway.identity_public,
        "wireguard_public_key": gateway.wireguard_public,
        "signature": sign((signer or gateway).identity_key, message),
    }


def test_an_interrupted_enrollment_is_answered_again(
    api_cloud: CloudServer, account: Account
) -> None:
    """Same code, same keys, signed by the identity key: the same gateway and address with a
    new credential (the first, never saved, is revoked); anything less is still 'used'."""
    claim, gateway = new_code(api_cloud, account), GatewayKeys.generate()
    with api_cloud.client() as anonymous:
        first = anonymous.post("/v1/enroll", json=_signed(claim["code"], gateway)).json()
        again = anonymous.post("/v1/enroll", json=_signed(claim["code"], gateway))
        assert again.status_code == 201, again.text
        unsigned = {**_signed(claim["code"], gateway), "signature": None}
        other = GatewayKeys.generate()
        refused = [
            anonymous.post("/v1/enroll", json=unsigned),
            anonymous.post("/v1/enroll", json=_signed(claim["code"], gateway, signer=other)),
            anonymous.post("/v1/enroll", json=_signed(claim["code"], other)),
        ]
    repeated = again.json()
    assert (repeated["gateway_id"], repeated["tunnel_address"]) == (
        first["gateway_id"],
        first["tunnel_address"],
    )
    assert [r.json()["error"]["code"] for r in refused] == ["claim_code_used"] * 3
    with api_cloud.client(first["credential"]) as lost:
        assert lost.get("/v1/registry").status_code == 401, "the unsaved credential is revoked"
    with api_cloud.client(repeated["credential"]) as kept:
        assert kept.get("/v1/registry").status_code == 200
    with api_cloud.client(account.owner_token) as owner:
        events = owner.get(
            "/v1/audit-events", params={"event": "provisioning.enrollment-repeated"}
        ).json()["items"]
        assert [e["target"] for e in events] == [first["gateway_id"]]
        assert owner.delete(f"/v1/gateways/{first['gateway_id']}").status_code in (200, 204)
    with api_cloud.client() as anonymous:
        late = anonymous.post("/v1/enroll", json=_signed(claim["code"], gateway))
    assert late.json()["error"]["code"] == "claim_code_used", "not after decommissioning"


def test_each_gateway_gets_its_own_tunnel_address(api_cloud: CloudServer, account: Account) -> None:
    addresses = {
        enroll(api_cloud, new_code(api_cloud, account)["code"]).json()["tunnel_address"]
        for _ in range(3)
    }
    assert len(addresses) == 3


def test_claim_code_format_catches_typos() -> None:
    code = generate()
    assert normalize(code.lower()) == code
    assert normalize(code.replace("1", "l").replace("0", "o")) == code
    body = code.replace("-", "")
    for position in range(len(body)):
        for symbol in "0123456789ABCDEFGHJKMNPQRSTVWXYZ":
            if symbol != body[position]:
                wrong = body[:position] + symbol + body[position + 1 :]
                with pytest.raises(ValueError):
                    normalize(wrong)


@pytest.fixture
def hub_cloud(tmp_path: Path) -> Iterator[CloudServer]:
    hub_key = base64.b64encode(secrets.token_bytes(32)).decode()
    env = {
        "EDGEWARD_CLOUD_HUB_ENDPOINT": "hub.example:51820",
        "EDGEWARD_CLOUD_HUB_PUBLIC_KEY": hub_key,
        "EDGEWARD_CLOUD_TUNNEL_POOL": "10.99.0.0/24",
    }
    server = CloudServer(tmp_path, f"sqlite:///{tmp_path / 'c.db'}", extra_env=env).start()
    try:
        yield server
    finally:
        server.stop()


def test_with_a_hub_the_tunnel_is_offered(hub_cloud: CloudServer) -> None:
    enrolled = enroll(hub_cloud, new_code(hub_cloud, hub_cloud.account)["code"]).json()
    wireguard = enrolled["wireguard"]
    assert wireguard["hub_endpoint"] == "hub.example:51820"
    assert wireguard["address"] == f"{enrolled['tunnel_address']}/32"
    assert enrolled["tunnel_address"] == "10.99.0.2", "the hub holds .1"
    assert wireguard["allowed_ips"] == ["10.99.0.1/32"]
    assert enrolled["cloud"]["url_in_tunnel"] == "http://10.99.0.1:8080"
