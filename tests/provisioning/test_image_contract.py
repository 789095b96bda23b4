"""The appliance image's contract (issue 10): secrets owned by the gateway's system user,
and the tunnel as the wg-quick file its ``edgeward-tunnel.service`` brings up at boot."""

from __future__ import annotations

import os
import pwd
import secrets
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgeward.provisioning.keys import GatewayKeys
from edgeward.provisioning.state import DEFAULT_DATA_DIR, DEFAULT_ROOT, Layout
from edgeward.provisioning.wg_quick import write_wg_quick
from tests.peers import missing_peer, require_program
from tests.peers.cloud import CloudServer
from tests.provisioning.conftest import new_claim, provision


@pytest.fixture
def system_user() -> Iterator[str]:
    """A temporary system user, as the image's sysusers.d makes ``edgeward``; removed after."""
    if os.geteuid() != 0:
        missing_peer("root (to create a system user)", "run the tests as root")
    useradd = require_program("useradd", "passwd")
    name = f"ewtest{secrets.token_hex(3)}"
    subprocess.run(
        [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True
    )
    try:
        yield name
    finally:
        subprocess.run([require_program("userdel", "passwd"), name], check=True)


def _owner_and_mode(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_uid, stat.S_IMODE(info.st_mode)


def test_secrets_and_data_dir_go_to_the_gateway_user(
    served_cloud: CloudServer, tmp_path: Path, system_user: str
) -> None:
    uid = pwd.getpwnam(system_user).pw_uid
    root = tmp_path / "etc"
    code = new_claim(served_cloud)["code"]
    done = provision(served_cloud.url, code, root, "--no-tunnel", "--owner", system_user)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"owned by {system_user}" in done.stdout
    layout = Layout(root)
    for secret in (layout.credential, layout.identity_key, layout.wireguard_key):
        assert _owner_and_mode(secret) == (uid, 0o600), secret
    assert layout.data_dir.stat().st_uid == uid
    assert _owner_and_mode(layout.state) == (0, 0o600), "the installer's state stays root's"
    assert Layout(DEFAULT_ROOT).data_dir == DEFAULT_DATA_DIR, "the image's data dir"


def test_unknown_owner_stops_before_the_claim_code_is_spent(
    served_cloud: CloudServer, tmp_path: Path
) -> None:
    claim = new_claim(served_cloud)
    done = provision(served_cloud.url, claim["code"], tmp_path / "etc", "--owner", "no-such-user-x")
    assert done.returncode == 2, done.stdout
    assert "--owner no-such-user-x: no such user" in done.stdout
    assert not (tmp_path / "etc").exists()
    with served_cloud.client(served_cloud.account.owner_token) as owner:
        assert owner.get(f"/v1/claim-codes/{claim['id']}").json()["status"] == "active"


def test_wg_quick_file_carries_the_tunnel(tmp_path: Path) -> None:
    wg_quick = require_program("wg-quick", "wireguard-tools")
    keys, hub = GatewayKeys.generate(), GatewayKeys.generate()
    offer = {
        "address": "10.77.0.2/32",
        "hub_public_key": hub.wireguard_public,
        "hub_endpoint": "192.0.2.1:51820",
        "allowed_ips": ["10.77.0.1/32"],
        "persistent_keepalive": 25,
    }
    conf = Layout(tmp_path / "etc").wg_quick("edgeward0")
    write_wg_quick(conf, keys, offer)
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600
    assert stat.S_IMODE(conf.parent.stat().st_mode) == 0o700
    stripped = subprocess.run(
        [wg_quick, "strip", str(conf)], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert [line for line in stripped if line and not line.startswith("#")] == [
        "[Interface]",
        f"PrivateKey = {keys.wireguard_private}",
        "[Peer]",
        f"PublicKey = {hub.wireguard_public}",
        "Endpoint = 192.0.2.1:51820",
        "AllowedIPs = 10.77.0.1/32",
        "PersistentKeepalive = 25",
    ], "wg-quick keeps the keys and peer; Address is wg-quick's own"
    assert "Address = 10.77.0.2/32" in conf.read_text()
