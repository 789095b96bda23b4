"""``edgeward provision`` killed (SIGKILL) at the worst moment: the cloud has enrolled the
gateway and answered, and the answer is not saved yet. The re-run completes with the same
claim code; the gateway never has a config it could start on in between."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from edgeward.gateway.config.loader import load_config
from edgeward.provisioning.enrolling import PAUSE_ENV, PAUSE_FIFO_ENV
from edgeward.provisioning.state import Layout, load_state
from tests.peers import wait_until
from tests.peers.cloud import CloudServer
from tests.provisioning.conftest import new_claim, provision


def _paused_after_enroll(cloud_url: str, code: str, root: Path, fifo: Path) -> None:
    """Run the installer until it has the cloud's answer, then SIGKILL it there."""
    os.mkfifo(fifo)
    env = {**os.environ, PAUSE_ENV: "enroll", PAUSE_FIFO_ENV: str(fifo)}
    command = [sys.executable, "-m", "edgeward", "provision", "--cloud", cloud_url]
    child = subprocess.Popen(
        [*command, "--claim", code, "--root", str(root), "--no-tunnel"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        heard: list[bytes] = []

        def paused() -> bool:
            with contextlib.suppress(BlockingIOError):  # no line yet
                heard.append(os.read(reader, 100))
            assert child.poll() is None, "the installer exited before the pause point"
            return b"paused after enroll" in b"".join(heard)

        wait_until(paused, "the installer to pause after the cloud's answer", timeout=120)
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        os.close(reader)
        if child.poll() is None:
            child.kill()
            child.wait()


def test_killed_after_the_cloud_answered_the_rerun_completes(
    served_cloud: CloudServer, tmp_path: Path
) -> None:
    root = tmp_path / "etc"
    claim = new_claim(served_cloud)
    _paused_after_enroll(served_cloud.url, claim["code"], root, tmp_path / "pause")

    with served_cloud.client(served_cloud.account.owner_token) as owner:
        used = owner.get(f"/v1/claim-codes/{claim['id']}").json()
    assert used["status"] == "used" and used["gateway_id"], "the cloud did enroll it"
    intent = load_state(Layout(root))
    assert intent is not None and intent.enrollment is None, "only the intent was saved"
    assert not (root / "gateway.toml").exists() and not (root / "credential").exists()
    blocked = subprocess.run(
        [sys.executable, "-m", "edgeward", "provision", "rotate-keys", "--root", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert blocked.returncode == 2, "nothing else uses a half-done enrollment"

    done = provision(served_cloud.url, claim["code"], root, "--no-tunnel")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "resumed the interrupted enrollment" in done.stdout
    assert "--claim not used" not in done.stdout, "the same code was given again"
    config = load_config(root / "gateway.toml")
    assert config.gateway_id == used["gateway_id"], "the same gateway, not a second one"
    state = load_state(Layout(root))
    assert state is not None and state.claim_code is None, "the code is dropped once enrolled"
    assert state.keys.identity_public == intent.keys.identity_public
    with served_cloud.client(config.cloud.credential) as gateway:
        assert gateway.get("/v1/registry").status_code == 200
