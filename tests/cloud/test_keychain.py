"""The keychain through the real cloud: write-only values, versions, rotation, at rest."""

from __future__ import annotations

import base64
import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from edgeward.cloud.service.master_key import SEALED_TABLES
from edgeward.cloud.storage.schema import metadata
from tests.cloud.raw_storage import holds, raw_storage, table_rows
from tests.cloud.test_admin_cli import admin
from tests.peers.cloud import CloudServer
from tests.peers.vendors import EchoAPI


@pytest.fixture(scope="module")
def echo() -> Any:
    with EchoAPI() as api:
        yield api


def owner(cloud: CloudServer) -> httpx.Client:
    return cloud.client(cloud.account.owner_token)


def add_secret(cloud: CloudServer, **body: Any) -> dict[str, Any]:
    body = {"name": f"k-{secrets.token_hex(4)}", "value": secrets.token_hex(16), **body}
    body.setdefault("hosts", ["127.0.0.1"])
    with owner(cloud) as client:
        response = client.post("/v1/keychain", json=body)
    assert response.status_code == 201, response.text
    return {**response.json(), "value": body["value"]}


def echoed_path(cloud: CloudServer, echo: EchoAPI, name: str) -> str:
    """What the echo API received for a call with [~name] in the path."""
    with owner(cloud) as client:
        token = cloud.token_with("proxy:GET")
        client.headers["Authorization"] = f"Bearer {token}"
        response = client.get(f"/v1/proxy/http/{echo.authority}/echo/[~{name}]")
    assert response.status_code == 200, response.text
    return str(response.json()["path"])


def test_values_are_write_only(api_cloud: CloudServer) -> None:
    secret = add_secret(api_cloud, positions=["headers", "query"])
    assert "value" not in {k for k in secret if k != "value"} - {"value"}
    with owner(api_cloud) as client:
        listed = client.get("/v1/keychain").text
        one = client.get(f"/v1/keychain/{secret['name']}").json()
        versions = client.get(f"/v1/keychain/{secret['name']}/versions").text
    assert secret["value"] not in listed + str(one) + versions
    assert one["name"] == secret["name"] and one["current_version"] == 1
    assert one["hosts"] == ["127.0.0.1"] and one["positions"] == ["query", "headers"]
    assert one["reference"] == f"[~{secret['name']}]" and one["created"] and one["updated"]
    assert set(one) == {
        "id", "name", "current_version", "pinned_version", "latest_version", "hosts",
        "positions", "reference", "created", "updated",
    }  # fmt: skip


def test_versions_pin_roll_back_and_retire(api_cloud: CloudServer, echo: EchoAPI) -> None:
    secret = add_secret(api_cloud, positions=["path"], value="first-value")
    name = secret["name"]
    with owner(api_cloud) as client:
        client.post(f"/v1/keychain/{name}/versions", json={"value": "second-value"})
        assert echoed_path(api_cloud, echo, name) == "/echo/second-value"
        # Roll back: pin version 1; a new version does not become current while pinned.
        pinned = client.put(f"/v1/keychain/{name}", json={"pinned_version": 1}).json()
        assert (pinned["current_version"], pinned["pinned_version"]) == (1, 1)
        assert echoed_path(api_cloud, echo, name) == "/echo/first-value"
        added = client.post(f"/v1/keychain/{name}/versions", json={"value": "third-value"})
        assert added.json()["current_version"] == 1 and added.json()["latest_version"] == 3
        assert echoed_path(api_cloud, echo, name) == "/echo/first-value"
        # The pinned version cannot be retired; unpinned, the newest is current again.
        refused = client.delete(f"/v1/keychain/{name}/versions/1")
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "conflict"
        unpinned = client.put(f"/v1/keychain/{name}", json={"pinned_version": None}).json()
        assert unpinned["current_version"] == 3
        assert echoed_path(api_cloud, echo, name) == "/echo/third-value"
        assert client.delete(f"/v1/keychain/{name}/versions/1").status_code == 204
        retired = client.get(f"/v1/keychain/{name}/versions/1").json()
        assert retired["status"] == "retired" and retired["retired"]
        # A retired version can never be pinned again.
        again = client.put(f"/v1/keychain/{name}", json={"pinned_version": 1})
        assert again.status_code == 422 and again.json()["error"]["field"] == "pinned_version"
        statuses = [
            v["status"] for v in client.get(f"/v1/keychain/{name}/versions").json()["items"]
        ]
        assert statuses == ["retired", "active", "active"]
    rows = sorted(
        (r for r in table_rows(api_cloud, "keychain_versions") if r.secret_id == secret["id"]),
        key=lambda r: r.version,
    )
    assert [(r.version, r.ciphertext is None, r.wrapped_key is None) for r in rows] == [
        (1, True, True), (2, False, False), (3, False, False),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "has space"}, "name"),
        ({"name": "[~x]"}, "name"),
        ({"hosts": []}, "hosts"),
        ({"hosts": ["https://api.example"]}, "hosts"),
        ({"hosts": ["api.example:443"]}, "hosts"),
        ({"positions": ["host"]}, "positions"),
        ({"positions": []}, "positions"),
        ({"value": ""}, "value"),
    ],
)
def test_bad_secrets_are_refused_with_the_field(
    api_cloud: CloudServer, body: dict[str, Any], field: str
) -> None:
    full = {"name": f"k-{secrets.token_hex(4)}", "value": "v", "hosts": ["api.example"], **body}
    with owner(api_cloud) as client:
        response = client.post("/v1/keychain", json=full)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["field"].removeprefix("body.") == field
        # Nothing half-done: the name is not taken.
        names = [item["name"] for item in client.get("/v1/keychain").json()["items"]]
    assert full["name"] not in names


def test_duplicate_names_conflict_and_unknown_names_are_404(api_cloud: CloudServer) -> None:
    secret = add_secret(api_cloud)
    with owner(api_cloud) as client:
        again = client.post(
            "/v1/keychain", json={"name": secret["name"], "value": "x", "hosts": ["a.example"]}
        )
        assert again.status_code == 409
        assert client.get("/v1/keychain/nope-nope").json()["error"]["code"] == "not_found"
        assert client.get(f"/v1/keychain/{secret['name']}/versions/9").status_code == 404
        assert client.delete(f"/v1/keychain/{secret['name']}").status_code == 204
        assert client.get(f"/v1/keychain/{secret['name']}").status_code == 404
    assert not [
        r for r in table_rows(api_cloud, "keychain_versions") if r.secret_id == secret["id"]
    ]


def test_the_database_holds_no_plaintext(api_cloud: CloudServer) -> None:
    values = [f"plain-{secrets.token_hex(12)}" for _ in range(3)]
    secret = add_secret(api_cloud, value=values[0])
    with owner(api_cloud) as client:
        for value in values[1:]:
            client.post(f"/v1/keychain/{secret['name']}/versions", json={"value": value})
    raw = raw_storage(api_cloud)
    assert secret["name"].encode() in raw  # the grep does see the stored rows
    assert not [value for value in values if holds(raw, value)]


@pytest.mark.slow
def test_rotating_the_master_key_rewraps_without_touching_values(
    api_cloud: CloudServer, echo: EchoAPI
) -> None:
    secret = add_secret(api_cloud, positions=["path"], value="before-rotation")
    before = {r.id: r for r in table_rows(api_cloud, "keychain_versions") if r.wrapped_key}
    rotated = api_cloud.admin("rotate-master-key")
    key_file = api_cloud.data_dir / "keychain.keys"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert rotated["rewrapped"] == str(len(before))
    after = {r.id: r for r in table_rows(api_cloud, "keychain_versions") if r.wrapped_key}
    assert {r.master_key_id for r in after.values()} == {rotated["master_key_id"]}
    for row_id, row in before.items():
        assert after[row_id].ciphertext == row.ciphertext  # values never re-encrypted
        assert after[row_id].wrapped_key != row.wrapped_key
    # The running worker reads the new key file and still opens every value.
    assert echoed_path(api_cloud, echo, secret["name"]) == "/echo/before-rotation"
    with owner(api_cloud) as client:
        client.post(f"/v1/keychain/{secret['name']}/versions", json={"value": "after-rotation"})
    assert echoed_path(api_cloud, echo, secret["name"]) == "/echo/after-rotation"
    newest = max(
        (r for r in table_rows(api_cloud, "keychain_versions") if r.secret_id == secret["id"]),
        key=lambda r: r.version,
    )
    assert newest.master_key_id == rotated["master_key_id"]
    # Twice more: the oldest key leaves the file once nothing uses it.
    api_cloud.admin("rotate-master-key")
    third = api_cloud.admin("rotate-master-key")
    assert len(third["kept"].split(",")) == 2
    assert rotated["master_key_id"] not in key_file.read_text()
    assert echoed_path(api_cloud, echo, secret["name"]) == "/echo/after-rotation"


def test_a_key_file_others_can_read_is_refused_with_status_2(tmp_path: Path) -> None:
    assert admin(tmp_path, "rotate-master-key").returncode == 0  # creates keychain.keys
    key_file = tmp_path / "keychain.keys"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key_file.chmod(0o644)
    refused = admin(tmp_path, "rotate-master-key")
    assert refused.returncode == 2
    assert str(key_file) in refused.stderr and "expected 0600" in refused.stderr


@pytest.mark.slow
def test_keys_from_the_environment_are_rotated_by_the_operator(tmp_path: Path) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    environment = {**os.environ, "EDGEWARD_CLOUD_KEYCHAIN_KEYS": f"k1 {key}"}
    refused = subprocess.run(
        [sys.executable, "-m", "edgeward", "cloud", "admin", "rotate-master-key",
         "--data-dir", str(tmp_path)],
        capture_output=True, text=True, env=environment, check=False,
    )  # fmt: skip
    assert refused.returncode == 2 and "EDGEWARD_CLOUD_KEYCHAIN_KEYS" in refused.stderr
    broken = {**environment, "EDGEWARD_CLOUD_KEYCHAIN_KEYS": "k1 not-base64"}
    result = subprocess.run(
        [sys.executable, "-m", "edgeward", "cloud", "admin", "rotate-master-key",
         "--data-dir", str(tmp_path)],
        capture_output=True, text=True, env=broken, check=False,
    )  # fmt: skip
    assert result.returncode == 2 and "line 1: expected '<key id> <base64" in result.stderr


def test_the_master_key_rotation_names_every_table_the_keyring_seals() -> None:
    """The keychain does not know who else seals with its keyring; the rotation's
    list is kept by hand above both, so a new sealed table must be added there."""
    wrapped = {name for name, table in metadata.tables.items() if "wrapped_key" in table.c}
    assert wrapped == {sealed.table.name for sealed in SEALED_TABLES}
    assert wrapped >= {"keychain_versions", "vendors", "connections"}
