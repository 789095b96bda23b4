"""``edgeward provision`` against the real cloud, without the tunnel (that test needs root):
what it writes, every refused claim code, resuming, re-provisioning, key rotation."""

from __future__ import annotations

import socket
import stat
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from edgeward.cloud.storage.schema import claim_codes, gateways
from edgeward.gateway.config.loader import load_config
from edgeward.provisioning.keys import GatewayKeys
from edgeward.provisioning.state import Layout, load_state
from edgeward.sync.claim_codes import generate
from tests.peers import require_program
from tests.peers.cloud import CloudServer
from tests.provisioning.conftest import edgeward, new_claim, provision


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_provision_writes_a_working_config_and_resumes(
    served_cloud: CloudServer, tmp_path: Path
) -> None:
    root = tmp_path / "etc"
    code = new_claim(served_cloud, site="plant 4")["code"]
    done = provision(served_cloud.url, code, root, "--no-tunnel", "--name", "line-3")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[4/4] ✓ cloud answers directly" in done.stdout and "✗" not in done.stdout
    assert "tunnel address" not in done.stdout, "this cloud has no hub: no tunnel to speak of"
    config = load_config(root / "gateway.toml")
    assert config.cloud.url == served_cloud.url and config.data_dir == root / "data"
    layout = Layout(root)
    for secret in (layout.credential, layout.identity_key, layout.wireguard_key, layout.state):
        assert _mode(secret) == 0o600, secret
    assert code not in done.stdout and config.cloud.credential not in done.stdout
    with served_cloud.client(config.cloud.credential) as gateway:
        assert gateway.get("/v1/registry").status_code == 200
    again = provision(served_cloud.url, None, root, "--no-tunnel")
    assert again.returncode == 0, again.stdout
    assert f"already enrolled as {config.gateway_id}" in again.stdout


def test_wireguard_keys_agree_with_wg_pubkey() -> None:
    wg = require_program("wg", "wireguard-tools")
    keys = GatewayKeys.generate()
    derived = subprocess.run(
        [wg, "pubkey"], input=keys.wireguard_private, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert derived == keys.wireguard_public


@pytest.mark.slow
def test_every_refused_claim_code_says_which_and_writes_nothing(
    served_cloud: CloudServer, tmp_path: Path
) -> None:
    used = new_claim(served_cloud)["code"]
    assert provision(served_cloud.url, used, tmp_path / "first", "--no-tunnel").returncode == 0
    revoked = new_claim(served_cloud)
    with served_cloud.client(served_cloud.account.owner_token) as owner:
        owner.delete(f"/v1/claim-codes/{revoked['id']}").raise_for_status()
    expired = new_claim(served_cloud)
    _, database = served_cloud._open_storage()
    with database.engine.begin() as connection:
        connection.execute(
            sa.update(claim_codes).where(claim_codes.c.id == expired["id"]).values(expires_us=1)
        )
    good = generate()
    typo = good[:-1] + ("0" if good[-1] != "0" else "1")
    cases = {
        "typo": typo,
        "unknown": generate(),
        "used": used,
        "revoked": revoked["code"],
        "expired": expired["code"],
    }
    for reason, code in cases.items():
        root = tmp_path / reason
        done = provision(served_cloud.url, code, root, "--no-tunnel")
        assert done.returncode == 3, (reason, done.stdout, done.stderr)
        assert f"✗ keys and enrollment: claim code {reason}" in done.stdout, done.stdout
        assert "what to check:" in done.stdout
        assert not root.exists(), f"{reason}: nothing written on the gateway"
    with served_cloud.client(served_cloud.account.owner_token) as owner:
        events = owner.get("/v1/audit-events", params={"event": "provisioning.claim-refused"})
    reasons = sorted(e["details"]["reason"] for e in events.json()["items"])
    assert reasons == ["expired", "revoked", "used"], "each refusal of the account's codes audited"


def test_unreachable_cloud_says_what_was_tried(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    done = provision(url, generate(), tmp_path / "etc", "--no-tunnel")
    assert done.returncode == 4, done.stdout
    assert f"cannot reach the cloud at {url}" in done.stdout
    assert f"TCP port {port} is open" in done.stdout
    assert not (tmp_path / "etc").exists()


def test_interrupted_after_enrollment_resumes_without_enrolling_again(
    served_cloud: CloudServer, tmp_path: Path
) -> None:
    """The run fails between enrolling and writing the config (the credential file can't
    be written); the re-run has no claim code to offer and still completes."""
    root = tmp_path / "etc"
    (root / "credential").mkdir(parents=True)
    code = new_claim(served_cloud)["code"]
    failed = provision(served_cloud.url, code, root, "--no-tunnel")
    assert failed.returncode == 6, failed.stdout
    assert "✗ write the gateway's config: cannot write" in failed.stdout
    state = load_state(Layout(root))
    assert state is not None, "the enrollment is kept"
    assert not (root / "gateway.toml").exists(), "no config the gateway could start on"
    (root / "credential").rmdir()
    resumed = provision(served_cloud.url, None, root, "--no-tunnel")
    assert resumed.returncode == 0, resumed.stdout
    assert load_config(root / "gateway.toml").gateway_id == state.gateway_id


def test_decommission_then_reprovision_the_reset_gateway(
    served_cloud: CloudServer, tmp_path: Path
) -> None:
    first = tmp_path / "before"
    assert (
        provision(
            served_cloud.url, new_claim(served_cloud)["code"], first, "--no-tunnel"
        ).returncode
        == 0
    )
    old = load_config(first / "gateway.toml")
    with served_cloud.client(served_cloud.account.owner_token) as owner:
        owner.delete(f"/v1/gateways/{old.gateway_id}").raise_for_status()
    with served_cloud.client(old.cloud.credential) as gateway:
        assert gateway.get("/v1/registry").status_code == 401, "decommissioned: credential revoked"
    code = new_claim(served_cloud, gateway_id=old.gateway_id)["code"]
    reset = tmp_path / "after"  # the reset gateway: nothing left on it
    done = provision(served_cloud.url, code, reset, "--no-tunnel")
    assert done.returncode == 0, done.stdout
    new = load_config(reset / "gateway.toml")
    assert new.gateway_id == old.gateway_id, "same gateway: its sources and readings carry on"
    with served_cloud.client(new.cloud.credential) as gateway:
        assert gateway.get("/v1/registry").status_code == 200
    with served_cloud.client(old.cloud.credential) as gateway:
        assert gateway.get("/v1/registry").status_code == 401
    with served_cloud.client(served_cloud.account.owner_token) as owner:
        assert owner.get(f"/v1/gateways/{new.gateway_id}").json()["decommissioned"] is None


def test_rotate_keys_replaces_both_keys_at_the_cloud(
    served_cloud: CloudServer, tmp_path: Path
) -> None:
    root = tmp_path / "etc"
    assert (
        provision(served_cloud.url, new_claim(served_cloud)["code"], root, "--no-tunnel").returncode
        == 0
    )
    before = load_state(Layout(root))
    assert before is not None
    done = edgeward("provision", "rotate-keys", "--root", str(root), "--no-tunnel")
    assert done.returncode == 0, done.stdout + done.stderr
    after = load_state(Layout(root))
    assert after is not None and after.pending_keys is None
    assert after.keys.identity_public != before.keys.identity_public
    _, database = served_cloud._open_storage()
    with database.engine.connect() as connection:
        row = connection.execute(
            sa.select(gateways).where(gateways.c.id == before.gateway_id)
        ).one()
    assert (row.identity_public_key, row.wireguard_public_key) == (
        after.keys.identity_public,
        after.keys.wireguard_public,
    )
    assert (root / "wireguard.key").read_text().strip() == after.keys.wireguard_private
