"""Claim codes and enrollment against the real cloud: every refusal says which, once
enrolled the gateway's credential works, the registry it got is signed, and only the
holder of the announced identity key enrolls (proof of possession)."""

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
from edgeward.sync.enrollment import SealedCredentialError, open_credential
from edgeward.sync.registry import verify_registry
from tests.cloud.routes_catalog import signed_enrollment
from tests.peers.cloud import Account, CloudServer


def new_code(cloud: CloudServer, account: Account, **body: Any) -> dict[str, Any]:
    with cloud.client(account.owner_token) as owner:
        response = owner.post("/v1/claim-codes", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def enroll(cloud: CloudServer, code: str, **extra: str) -> httpx.Response:
    """A new gateway's enrollment, signed by its own identity key."""
    body = {**signed_enrollment(code, GatewayKeys.generate()), **extra}
    with cloud.client() as anonymous:
        return anonymous.post("/v1/enroll", json=body)


@pytest.fixture
def account(api_cloud: CloudServer) -> Account:
    return api_cloud.new_account()


def test_enrollment_gives_a_working_credential_and_a_signed_registry(
    api_cloud: CloudServer, account: Account
) -> None:
    claim = new_code(api_cloud, account, site="plant 4")
    with api_cloud.client(account.owner_token) as owner:
        assert claim["code"] not in owner.get("/v1/claim-codes").text
    keys = GatewayKeys.generate()
    body = signed_enrollment(claim["code"].lower().replace("-", " "), keys)
    with api_cloud.client() as anonymous:
        response = anonymous.post("/v1/enroll", json={**body, "name": "line-3"})
    assert response.status_code == 201, response.text
    enrolled = response.json()
    credential = open_credential(enrolled["sealed_credential"], keys.wireguard_private)
    assert "credential" not in enrolled and credential not in response.text
    with pytest.raises(SealedCredentialError):
        open_credential(enrolled["sealed_credential"], GatewayKeys.generate().wireguard_private)
    assert enrolled["account_id"] == account.id and enrolled["site"] == "plant 4"
    assert ipaddress.ip_address(enrolled["tunnel_address"]) in ipaddress.ip_network("10.77.0.0/16")
    assert enrolled["wireguard"] is None, "no hub configured: no tunnel offered"
    registry = verify_registry(
        enrolled["registry"]["body"].encode(),
        enrolled["registry"]["signature"],
        enrolled["cloud"]["registry_public_key"],
    )
    assert registry["gateway_id"] == enrolled["gateway_id"]
    with api_cloud.client(credential) as gateway:
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
    body = signed_enrollment(claim["code"], GatewayKeys.generate())
    with api_cloud.client() as anonymous:
        bad = anonymous.post("/v1/enroll", json={**body, "wireguard_public_key": "c2hvcnQ="})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "wireguard_public_key"
    assert enroll(api_cloud, claim["code"]).status_code == 201


def _unsigned(code: str, gateway: GatewayKeys) -> dict[str, Any]:
    body: dict[str, Any] = signed_enrollment(code, gateway)
    del body["signature"]
    return body


def _signed_by_another(code: str, gateway: GatewayKeys) -> dict[str, Any]:
    return signed_enrollment(code, gateway, signer=GatewayKeys.generate())


def _signed_for_another_tunnel_key(code: str, gateway: GatewayKeys) -> dict[str, Any]:
    """Signed over the gateway's keys, but sent with another WireGuard key."""
    other = GatewayKeys.generate().wireguard_public
    return {**signed_enrollment(code, gateway), "wireguard_public_key": other}


@pytest.mark.parametrize(
    ("build", "status", "error_code", "field"),
    [
        (_unsigned, 422, "invalid_request", "body.signature"),
        (_signed_by_another, 403, "forbidden", "signature"),
        (_signed_for_another_tunnel_key, 403, "forbidden", "signature"),
    ],
)
def test_an_enrollment_without_proof_of_possession_leaves_the_code_usable(
    api_cloud: CloudServer,
    account: Account,
    build: Any,
    status: int,
    error_code: str,
    field: str,
) -> None:
    """The signature is checked before the code is redeemed: a refused one never consumes
    the code, and is not a refusal of the code (nothing audited as one)."""
    claim, gateway = new_code(api_cloud, account), GatewayKeys.generate()
    with api_cloud.client() as anonymous:
        refused = anonymous.post("/v1/enroll", json=build(claim["code"], gateway))
    error = refused.json()["error"]
    assert (refused.status_code, error["code"], error["field"]) == (status, error_code, field)
    with api_cloud.client(account.owner_token) as owner:
        assert owner.get(f"/v1/claim-codes/{claim['id']}").json()["status"] == "active"
        events = owner.get("/v1/audit-events", params={"event": "provisioning.claim-refused"})
        assert events.json()["items"] == []
    with api_cloud.client() as anonymous:
        enrolled = anonymous.post("/v1/enroll", json=signed_enrollment(claim["code"], gateway))
    assert enrolled.status_code == 201, enrolled.text


def test_a_bad_signature_is_refused_before_the_code_is_looked_up(api_cloud: CloudServer) -> None:
    """An unknown code with a bad signature: 403 on the signature, nothing said of the code."""
    body = _signed_by_another(generate(), GatewayKeys.generate())
    with api_cloud.client() as anonymous:
        refused = anonymous.post("/v1/enroll", json=body)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")


def test_an_interrupted_enrollment_is_answered_again(
    api_cloud: CloudServer, account: Account
) -> None:
    """Same code, same keys, signed by the identity key: the same gateway and address with a
    new credential (the first, never saved, is revoked). Without the proof of possession it
    is refused as any enrollment is; another gateway's keys, signed, find the code 'used'."""
    claim, gateway = new_code(api_cloud, account), GatewayKeys.generate()
    other_gateway = GatewayKeys.generate()
    with api_cloud.client() as anonymous:
        first = anonymous.post("/v1/enroll", json=signed_enrollment(claim["code"], gateway)).json()
        again = anonymous.post("/v1/enroll", json=signed_enrollment(claim["code"], gateway))
        assert again.status_code == 201, again.text
        refused = [
            anonymous.post("/v1/enroll", json=_unsigned(claim["code"], gateway)),
            anonymous.post("/v1/enroll", json=_signed_by_another(claim["code"], gateway)),
            anonymous.post("/v1/enroll", json=signed_enrollment(claim["code"], other_gateway)),
        ]
    repeated = again.json()
    assert (repeated["gateway_id"], repeated["tunnel_address"]) == (
        first["gateway_id"],
        first["tunnel_address"],
    )
    assert [r.json()["error"]["code"] for r in refused] == [
        "invalid_request",
        "forbidden",
        "claim_code_used",
    ]
    lost = open_credential(first["sealed_credential"], gateway.wireguard_private)
    kept = open_credential(repeated["sealed_credential"], gateway.wireguard_private)
    with api_cloud.client(lost) as client:
        assert client.get("/v1/registry").status_code == 401, "the unsaved credential is revoked"
    with api_cloud.client(kept) as client:
        assert client.get("/v1/registry").status_code == 200
    with api_cloud.client(account.owner_token) as owner:
        events = owner.get(
            "/v1/audit-events", params={"event": "provisioning.enrollment-repeated"}
        ).json()["items"]
        assert [e["target"] for e in events] == [first["gateway_id"]]
        assert owner.delete(f"/v1/gateways/{first['gateway_id']}").status_code in (200, 204)
    with api_cloud.client() as anonymous:
        late = anonymous.post("/v1/enroll", json=signed_enrollment(claim["code"], gateway))
    assert late.json()["error"]["code"] == "claim_code_used", "not after decommissioning"


def test_a_replayed_enrollment_gets_nothing_and_revokes_nothing(
    api_cloud: CloudServer, account: Account
) -> None:
    """A captured enrollment body replayed: before the gateway's first call the answer is
    sealed to the gateway (useless to whoever replays it); once the gateway used its
    credential, the code is simply used, and the credential keeps working."""
    claim, gateway = new_code(api_cloud, account), GatewayKeys.generate()
    captured = signed_enrollment(claim["code"], gateway)
    with api_cloud.client() as anonymous:
        answer = anonymous.post("/v1/enroll", json=captured).json()
        replayed = anonymous.post("/v1/enroll", json=captured).json()
    with pytest.raises(SealedCredentialError):
        open_credential(replayed["sealed_credential"], GatewayKeys.generate().wireguard_private)
    credential = open_credential(replayed["sealed_credential"], gateway.wireguard_private)
    assert credential != open_credential(answer["sealed_credential"], gateway.wireguard_private)
    with api_cloud.client(credential) as client:
        assert client.get("/v1/registry").status_code == 200  # the gateway's first call
    with api_cloud.client() as anonymous:
        late = anonymous.post("/v1/enroll", json=captured)
    assert (late.status_code, late.json()["error"]["code"]) == (409, "claim_code_used")
    with api_cloud.client(credential) as client:
        assert client.get("/v1/registry").status_code == 200, "the working credential stays"


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
