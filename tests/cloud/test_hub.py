"""The cloud keeps its WireGuard hub's peers: a real wireguard-go interface in a network
namespace of its own, with the real cloud serving beside it."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from edgeward.provisioning.keys import GatewayKeys
from edgeward.sync.enrollment import open_credential
from tests.cloud.routes_catalog import rotation, signed_enrollment
from tests.peers import require_program
from tests.peers.cloud import CloudServer
from tests.peers.wireguard import HubInterface, hub_interface, require_wireguard, single_namespace

# One wireguard-go hub named ewhub0, one tunnel named edgeward0: their control
# sockets in /var/run/wireguard are the machine's, so one such module at a time.
pytestmark = [pytest.mark.slow, pytest.mark.exclusive("wireguard")]


@dataclass
class Hub:
    cloud: CloudServer
    interface: HubInterface


def _start(root: Path, interface: HubInterface) -> CloudServer:
    env = {
        "EDGEWARD_CLOUD_HUB_INTERFACE": interface.name,
        "EDGEWARD_CLOUD_HUB_ENDPOINT": "192.0.2.1:51820",
        "EDGEWARD_CLOUD_HUB_PUBLIC_KEY": interface.public_key,
        "EDGEWARD_CLOUD_TUNNEL_POOL": "10.77.0.0/24",
    }
    server = CloudServer(
        root, f"sqlite:///{root / 'c.db'}", port=8080, extra_env=env, netns=interface.namespace.name
    )
    return server.start()


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    require_wireguard()
    with single_namespace() as namespace, hub_interface(namespace, tmp_path) as interface:
        server = _start(tmp_path, interface)
        try:
            yield Hub(server, interface)
        finally:
            server.stop()


def _key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _new_code(hub: Hub) -> str:
    with hub.cloud.client(hub.cloud.account.owner_token) as owner:
        return str(owner.post("/v1/claim-codes", json={}).raise_for_status().json()["code"])


def _enroll(hub: Hub, gateway: GatewayKeys) -> dict[str, str]:
    """The enrollment answer, its credential opened as the installer does."""
    body = signed_enrollment(_new_code(hub), gateway)
    with hub.cloud.client() as anonymous:
        response = anonymous.post("/v1/enroll", json=body)
    assert response.status_code == 201, response.text
    answer = dict(response.json())
    answer["credential"] = open_credential(answer["sealed_credential"], gateway.wireguard_private)
    return answer


def test_enrollment_adds_the_peer_and_decommission_removes_it(hub: Hub) -> None:
    gateway = GatewayKeys.generate()
    enrolled = _enroll(hub, gateway)
    key = gateway.wireguard_public
    assert hub.interface.peers() == {key: f"{enrolled['tunnel_address']}/32"}
    with hub.cloud.client(hub.cloud.account.owner_token) as owner:
        assert owner.delete(f"/v1/gateways/{enrolled['gateway_id']}").status_code == 204
    assert hub.interface.peers() == {}
    with hub.cloud.client(enrolled["credential"]) as gateway:
        assert gateway.get("/v1/registry").status_code == 401


def test_a_repeated_enrollment_keeps_the_one_peer(hub: Hub) -> None:
    """An interrupted enrollment answered again (same code, same keys, signed): the hub's
    peer stays as it was, not removed as an 'old' key nor doubled."""
    gateway = GatewayKeys.generate()
    body = signed_enrollment(_new_code(hub), gateway)
    with hub.cloud.client() as anonymous:
        first = anonymous.post("/v1/enroll", json=body).json()
        again = anonymous.post("/v1/enroll", json=body)
    assert again.status_code == 201, again.text
    peer = {gateway.wireguard_public: f"{first['tunnel_address']}/32"}
    assert again.json()["tunnel_address"] == first["tunnel_address"]
    assert hub.interface.peers() == peer


def test_rotation_replaces_the_peer_and_keeps_the_address(hub: Hub) -> None:
    enrolled = _enroll(hub, GatewayKeys.generate())
    _, body = rotation(hub.cloud, enrolled["gateway_id"])
    with hub.cloud.client(enrolled["credential"]) as gateway:
        response = gateway.post("/v1/gateway-keys", json=body)
        assert response.status_code == 200, response.text
        again = gateway.post("/v1/gateway-keys", json=body)
        assert again.status_code == 200, "a retry of a rotation the cloud took is answered"
    assert hub.interface.peers() == {
        body["wireguard_public_key"]: f"{enrolled['tunnel_address']}/32"
    }


def test_start_reconciles_the_interface_with_the_database(hub: Hub, tmp_path: Path) -> None:
    kept_gateway, lost_gateway = GatewayKeys.generate(), GatewayKeys.generate()
    kept, lost = kept_gateway.wireguard_public, lost_gateway.wireguard_public
    first = _enroll(hub, kept_gateway)
    _enroll(hub, lost_gateway)
    hub.cloud.stop()
    stray = _key()
    namespace, name = hub.interface.namespace, hub.interface.name
    namespace.run("wg", "set", name, "peer", kept, "remove")
    namespace.run("wg", "set", name, "peer", stray, "allowed-ips", "10.77.0.200/32")
    hub.cloud.start()
    peers = hub.interface.peers()
    assert peers.get(kept) == f"{first['tunnel_address']}/32", "missing peer added back"
    assert stray not in peers, "stray peer removed"
    assert lost in peers


def test_a_failing_hub_fails_the_enrollment_whole(hub: Hub) -> None:
    body = signed_enrollment(_new_code(hub), GatewayKeys.generate())
    hub.interface.stop()
    with hub.cloud.client() as anonymous:
        response = anonymous.post("/v1/enroll", json=body)
        assert response.status_code == 503
        error = response.json()["error"]
        assert error["code"] == "hub_unavailable" and "wg" in error["message"]
    with hub.cloud.client(hub.cloud.account.owner_token) as owner:
        claims = owner.get("/v1/claim-codes").json()["items"]
    assert [claim["status"] for claim in claims] == ["active"], "the code stays usable"


def test_the_cloud_does_not_start_with_a_hub_it_cannot_keep(tmp_path: Path) -> None:
    require_program("wg", "wireguard-tools")
    env = {**os.environ, "EDGEWARD_CLOUD_HUB_INTERFACE": "ewnone0"}
    done = subprocess.run(
        [sys.executable, "-m", "edgeward", "cloud", "serve", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "wg show ewnone0 allowed-ips" in done.stderr and "reconciling the hub" in done.stderr
