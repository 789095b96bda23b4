"""``edgeward demo``: the whole path, live, on one machine.

It starts the real programs an operator would: the cloud on a temporary
SQLite database, simulated power meters on Modbus TCP, a serial and an MQTT
sensor where their peers (socat, mosquitto) are installed
(:mod:`edgeward.demo.devices`), and a gateway provisioned with a claim code,
through a WireGuard tunnel when run as root (:mod:`edgeward.demo.site`), and
configured for them all; then shows what the cloud reports, as an
application holding a read-only token would see it. Everything it started
(processes, network namespaces) is stopped and its temporary directory
removed on exit, Ctrl-C included.
"""

from __future__ import annotations

import signal
import tempfile
import time
import tomllib
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.live import Live
from rich.table import Table

from edgeward.demo.devices import DemoDevice, start_devices
from edgeward.demo.site import (
    gateway_id_of,
    make_site,
    provision_gateway,
    show_gateway_address,
)
from edgeward.gateway.config.toml_writer import dump_toml
from edgeward.gateway.health.publisher import read_status
from edgeward.harness.local_cloud import LocalCloud, read_pages
from edgeward.harness.processes import ChildProcess, ChildProcessError

METER_UNITS = (1, 2)
REFRESH_SECONDS = 0.5


@dataclass
class SourceView:
    """What the demo has fetched of one data source so far."""

    source: str
    cursor: str | None = None
    received: int = 0
    latest: dict[str, Any] = field(default_factory=dict)


def gateway_document(
    gateway_id: str,
    cloud_url: str,
    data_dir: Path,
    meters_port: int,
    poll_interval: float,
    devices: Sequence[DemoDevice] = (),
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "gateway": {"id": gateway_id, "data_dir": str(data_dir)},
        "cloud": {"url": cloud_url, "credential_file": "credential"},
        "uplink": {"idle_interval": 0.2},
        "modbus_tcp": [
            {
                "host": "127.0.0.1",
                "port": meters_port,
                "devices": [
                    {
                        "source": f"meter-{unit}",
                        "unit": unit,
                        "poll_interval": poll_interval,
                    }
                    for unit in METER_UNITS
                ],
            }
        ],
    }
    for device in devices:
        document.setdefault(device.config_key, []).append(device.section)
    return document


def _render(views: list[SourceView], elapsed: float, children: list[ChildProcess]) -> Table:
    table = Table(title=f"Edgeward demo: readings stored in the cloud ({elapsed:.0f}s)")
    table.add_column("source")
    table.add_column("readings", justify="right")
    table.add_column("time (UTC)", justify="right")
    table.add_column("latest values")
    for view in views:
        values = view.latest.get("values", {})
        table.add_row(
            view.source,
            str(view.received),
            str(view.latest.get("time", "-"))[11:23],
            " ".join(f"{name}={_number(value)}" for name, value in values.items()) or "-",
        )
    status = ", ".join(f"{c.name} {'up' if c.alive() else 'DOWN'}" for c in children)
    table.caption = f"{status} · Ctrl-C to stop"
    return table


def _number(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return "-" if value is None else str(value)


def _fetch(client: httpx.Client, view: SourceView) -> None:
    """Fetch what arrived since the last call, following the cursor."""
    for items, cursor in read_pages(client, view.source, view.cursor):
        if items:
            view.received += len(items)
            view.latest = items[-1]
        view.cursor = cursor


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run_demo(seconds: float | None, tunnel: bool = True) -> int:
    # Ctrl-C and SIGTERM both end the demo through the same cleanup, even when
    # started from a shell that had SIGINT ignored for background jobs.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    console = Console()
    # The network (namespaces, hub) goes after the processes in it, the directory last.
    with tempfile.TemporaryDirectory(prefix="edgeward-demo-") as temporary, ExitStack() as network:
        root = Path(temporary)
        children: list[ChildProcess] = []
        try:
            return _run(console, root, children, network, seconds, tunnel)
        except ChildProcessError as exc:
            console.print(f"[red]demo failed:[/red] {exc}")
            return 1
        except KeyboardInterrupt:
            console.print("stopping…")
            return 0
        finally:
            for child in reversed(children):
                child.stop()


def _run(
    console: Console,
    root: Path,
    children: list[ChildProcess],
    network: ExitStack,
    seconds: float | None,
    tunnel: bool,
) -> int:
    console.print(f"[bold]Edgeward demo[/bold] in {root}")
    site = make_site(console, root, network, tunnel)
    cloud = site.cloud
    children.append(cloud.process)
    account = cloud.create_account("Demo site", "owner@demo.example")
    console.print(f"✓ account {account.id} created; its owner's first token shown once")
    cloud.start()
    console.print(
        f"✓ cloud serving at {site.cloud_url_for_installer()} (SQLite in {cloud.data_dir})"
    )
    config_path = provision_gateway(console, root, site, account.owner_token)
    gateway_id = gateway_id_of(config_path)
    token = cloud.create_token(account.owner_token, "readings:GET", name="demo-viewer")
    console.print("✓ a read-only token created for the live table (API)")
    meters_port = _start_meters(root, children, site.gateway_netns)
    console.print(f"✓ {len(METER_UNITS)} power meters on modbus-tcp://127.0.0.1:{meters_port}")
    for unit in METER_UNITS:
        binding: dict[str, str | int] = {
            "bus": f"modbus-tcp://127.0.0.1:{meters_port}",
            "unit": unit,
        }
        cloud.register_source(account.owner_token, f"meter-{unit}", gateway_id, binding)
    devices, left_out = start_devices(root, children, site.gateway_netns)
    for device in devices:
        type_id = cloud.create_type(account.owner_token, device.type_name, device.type_spec)
        cloud.register_source(
            account.owner_token, device.source, gateway_id, device.binding, type_id
        )
        console.print(f"✓ {device.description}")
    for reason in left_out:
        console.print(f"· {reason}")
    sources = [f"meter-{unit}" for unit in METER_UNITS] + [d.source for d in devices]
    console.print(f"✓ data sources {', '.join(sources)} registered (API)")
    _start_gateway(root, site.gateway_netns, children, config_path, meters_port, devices)
    console.print(f"✓ gateway running with {config_path}")
    registered = _wait_for_registry(children[-1], config_path.parent / "data")
    console.print(f"✓ gateway verified its signed registry: it admits these {registered} sources")
    views = _watch(console, cloud, token, children, sources, seconds)
    for view in views:
        console.print(f"  {view.source}: {view.received} readings")
    total = sum(view.received for view in views)
    console.print(f"✓ {total} readings arrived in the cloud")
    show_gateway_address(console, site, account.owner_token, gateway_id)
    console.print("stopping everything")
    return 0


def _start_meters(root: Path, children: list[ChildProcess], netns: str | None) -> int:
    port_file = root / "meters.port"
    units = [str(unit) for unit in METER_UNITS]
    meters = ChildProcess(
        "meters",
        [
            "simulate",
            "modbus-meters",
            "--port",
            "0",
            "--port-file",
            str(port_file),
            "--units",
            *units,
        ],
        root / "meters.log",
        netns=netns,
    ).start()
    children.append(meters)
    return meters.wait_for_port_file(port_file)


def _start_gateway(
    root: Path,
    netns: str | None,
    children: list[ChildProcess],
    config_path: Path,
    meters_port: int,
    devices: list[DemoDevice],
) -> None:
    """Adds the demo's devices to the config provisioning wrote, then runs the gateway."""
    provisioned = tomllib.loads(config_path.read_text())
    document = gateway_document(
        provisioned["gateway"]["id"],
        provisioned["cloud"]["url"],
        Path(provisioned["gateway"]["data_dir"]),
        meters_port,
        poll_interval=1.0,
        devices=devices,
    )
    config_path.write_text(dump_toml(document))
    process = ChildProcess(
        "gateway",
        ["gateway", "run", "--config", str(config_path)],
        root / "gateway.log",
        netns=netns,
    )
    children.append(process.start())


def _wait_for_registry(gateway: ChildProcess, data_dir: Path) -> int:
    """The number of sources in the registry the gateway admits by, once it has one.

    The live view's clock starts after this, so ``--seconds`` is time with data
    flowing, not time the gateway spends starting on a busy machine.
    """
    found: list[int] = []

    def in_force() -> bool:
        try:
            status = read_status(data_dir)
            sources = status["admission"]["registry"]["sources"]
        except (OSError, ValueError, KeyError, TypeError):
            return False
        if sources is not None:
            found.append(int(sources))
        return sources is not None

    gateway.wait_for(in_force, "its registry in force", timeout=60)
    return found[-1]


def _watch(
    console: Console,
    cloud: LocalCloud,
    token: str,
    children: list[ChildProcess],
    sources: list[str],
    seconds: float | None,
) -> list[SourceView]:
    """Show the live table until ``seconds`` pass; return what arrived of each source."""
    views = [SourceView(source) for source in sources]
    started = time.monotonic()
    with (
        cloud.client(token, timeout=5) as client,
        Live(console=console, refresh_per_second=4) as live,
    ):
        while seconds is None or time.monotonic() - started < seconds:
            try:
                for view in views:
                    _fetch(client, view)
            except httpx.HTTPError as exc:
                log = cloud.process.log_tail()
                raise ChildProcessError(f"cloud stopped answering ({exc}):\n{log}") from exc
            live.update(_render(views, time.monotonic() - started, children))
            for child in children:
                if not child.alive():
                    raise ChildProcessError(f"{child.name} stopped:\n{child.log_tail()}")
            time.sleep(REFRESH_SECONDS)
    console.print()
    return views
