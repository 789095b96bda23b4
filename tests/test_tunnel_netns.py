"""The gateway reaches the cloud only through its WireGuard tunnel (root).

Two network namespaces joined by a veth pair: the cloud and its hub
(wireguard-go) in one, the gateway, its Modbus meters and its wireguard-go
tunnel in the other. The gateway is provisioned over the underlay with a
claim code by ``edgeward provision``; its readings then arrive from its
tunnel address; with the tunnel gone they pile up in the outbox, and drain
when a re-run of ``edgeward provision`` brings it back; a key rotation loses
none of them.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import ip_address, ip_network
from pathlib import Path

import pytest

from edgeward.gateway.config.toml_writer import dump_toml
from edgeward.harness.network_namespaces import TUNNEL_POOL
from edgeward.harness.processes import ChildProcess
from tests.peers import wait_until
from tests.peers.cloud import CloudServer
from tests.peers.wireguard import (
    CLOUD_UNDERLAY,
    HUB_ADDRESS,
    HubInterface,
    Namespace,
    hub_interface,
    namespace_pair,
    require_wireguard,
)
from tests.provisioning.conftest import edgeward

# One wireguard-go hub named ewhub0, one tunnel named edgeward0: their control
# sockets in /var/run/wireguard are the machine's, so one such module at a time.
pytestmark = [pytest.mark.slow, pytest.mark.exclusive("wireguard")]

CLOUD_PORT = 8080
INTERFACE = "edgeward0"


@dataclass
class Site:
    root: Path
    cloud: CloudServer
    hub: HubInterface
    gateway_ns: Namespace
    children: list[ChildProcess]

    def in_gateway(self, name: str, *args: str) -> ChildProcess:
        log = self.root / f"{name}.log"
        child = ChildProcess(name, args, log, netns=self.gateway_ns.name)
        self.children.append(child.start())
        return child

    def provision(self, *args: str) -> str:
        done = edgeward(
            "provision", "--root", str(self.root / "etc"), "--userspace", *args,
            prefix=tuple(self.gateway_ns.prefix()),
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    require_wireguard()
    children: list[ChildProcess] = []
    with namespace_pair() as (cloud_ns, gateway_ns), hub_interface(cloud_ns, tmp_path) as hub:
        env = hub.cloud_env(CLOUD_PORT)
        db = f"sqlite:///{tmp_path / 'cloud.db'}"
        cloud = CloudServer(tmp_path, db, CLOUD_PORT, extra_env=env, netns=cloud_ns.name)
        try:
            cloud.start()
            yield Site(tmp_path, cloud, hub, gateway_ns, children)
        finally:
            for child in reversed(children):
                child.stop()
            cloud.stop()


def _add_meter(config: Path, meters_port: int) -> None:
    """What the installer adds for the site's meter (edgeward devices add does the cloud side)."""
    document = tomllib.loads(config.read_text())
    document["uplink"] = {"idle_interval": 0.1, "backoff_max": 1.0}
    document["health"] = {"status_interval": 0.5}
    device = {"source": "meter-1", "unit": 1, "poll_interval": 0.2}  # the type holds the map
    document["modbus_tcp"] = [{"host": "127.0.0.1", "port": meters_port, "devices": [device]}]
    config.write_text(dump_toml(document))


def _depth(config: Path) -> int:
    done = edgeward("gateway", "status", "--json", "--config", str(config))
    return int(json.loads(done.stdout)["outbox"]["depth"]) if done.returncode == 0 else -1


def test_readings_travel_only_through_the_tunnel(site: Site) -> None:
    cloud, owner = site.cloud, site.cloud.account.owner_token
    with cloud.client(owner) as client:
        code = client.post("/v1/claim-codes", json={}).raise_for_status().json()["code"]
    output = site.provision("--cloud", f"http://{CLOUD_UNDERLAY}:{CLOUD_PORT}", "--claim", code)
    assert f"✓ tunnel {INTERFACE} up (wireguard-go)" in output
    named = re.search(r", tunnel address ([0-9.]+)", output)
    assert named and ip_address(named[1]) in ip_network(TUNNEL_POOL), "a hub's cloud names it"
    assert f"cloud answers through the tunnel at http://{HUB_ADDRESS}:{CLOUD_PORT}" in output
    config = site.root / "etc" / "gateway.toml"
    document = tomllib.loads(config.read_text())
    gateway_id = document["gateway"]["id"]
    assert document["cloud"]["url"] == f"http://{HUB_ADDRESS}:{CLOUD_PORT}"
    wg_quick = (site.root / "etc" / "wireguard" / f"{INTERFACE}.conf").read_text()
    key = (site.root / "etc" / "wireguard.key").read_text().strip()
    assert f"PrivateKey = {key}" in wg_quick, "the image's tunnel unit brings up the same tunnel"

    port_file = site.root / "meters.port"
    site.in_gateway(
        "meters", "simulate", "modbus-meters", "--port", "0", "--port-file", str(port_file),
        "--units", "1",
    )  # fmt: skip
    meters = site.children[-1].wait_for_port_file(port_file)
    binding: dict[str, str | int] = {"bus": f"modbus-tcp://127.0.0.1:{meters}", "unit": 1}
    cloud.register_source(owner, "meter-1", gateway_id, binding)
    _add_meter(config, meters)
    site.in_gateway("gateway", "gateway", "run", "--config", str(config))

    def stored() -> int:
        return len(cloud.all_readings(owner, "meter-1"))

    wait_until(lambda: stored() >= 5, "readings in the cloud", timeout=60)
    with cloud.client(owner) as client:
        seen = client.get(f"/v1/gateways/{gateway_id}").json()
    assert seen["last_address"] == seen["tunnel_address"], "the cloud saw the tunnel address"

    site.gateway_ns.run("ip", "link", "del", INTERFACE)  # the tunnel goes down
    wait_until(lambda: _depth(config) >= 10, "readings piling up in the outbox", timeout=60)
    before = stored()
    site.provision()  # the installer re-runs it: already enrolled, the tunnel comes back
    wait_until(lambda: _depth(config) == 0, "the outbox drained", timeout=90)
    assert stored() >= before + 10

    old_peers = site.hub.peers()
    rotated = edgeward(
        "provision", "rotate-keys", "--root", str(site.root / "etc"),
        prefix=tuple(site.gateway_ns.prefix()),
    )  # fmt: skip
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    assert site.hub.peers().keys().isdisjoint(old_peers.keys()), "the hub holds the new key"
    after_rotation = stored()
    wait_until(lambda: stored() >= after_rotation + 5, "readings after the rotation", 60)
    wait_until(lambda: _depth(config) == 0, "nothing left behind after the rotation", 60)
