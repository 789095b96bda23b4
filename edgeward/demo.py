"""``edgeward demo``: the whole path, live, on one machine.

It starts the real programs an operator would: the cloud on a temporary
SQLite database, simulated power meters on Modbus TCP, and a gateway
configured for them; then shows what the cloud reports, as an application
holding a read-only token would see it. Everything it started is stopped and
its temporary directory removed on exit, Ctrl-C included.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.live import Live
from rich.table import Table

from edgeward.drivers.simulators.power_meters import METER_REGISTERS
from edgeward.gateway.config_writer import dump_toml, write_secret
from edgeward.processes import ChildProcess, ChildProcessError

METER_UNITS = (1, 2)
REFRESH_SECONDS = 0.5


@dataclass
class SourceView:
    """What the demo has fetched of one data source so far."""

    source: str
    cursor: str | None = None
    received: int = 0
    latest: dict[str, Any] = field(default_factory=dict)


def _admin(data_dir: Path, *args: str) -> dict[str, str]:
    """Run an ``edgeward cloud admin`` command and parse its ``key = value`` lines."""
    output = subprocess.run(
        [sys.executable, "-m", "edgeward", "cloud", "admin", *args, "--data-dir", str(data_dir)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(re.findall(r"^(\w+) = (\S+)$", output, flags=re.MULTILINE))


def gateway_document(
    gateway_id: str, cloud_url: str, data_dir: Path, meters_port: int, poll_interval: float
) -> dict[str, Any]:
    return {
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
                        "registers": METER_REGISTERS,
                    }
                    for unit in METER_UNITS
                ],
            }
        ],
    }


def _render(views: list[SourceView], elapsed: float, children: list[ChildProcess]) -> Table:
    table = Table(title=f"Edgeward demo: readings stored in the cloud ({elapsed:.0f}s)")
    for column in (
        "source",
        "received",
        "time (UTC)",
        "voltage V",
        "current A",
        "power W",
        "energy Wh",
        "frequency Hz",
    ):
        table.add_column(column, justify="left" if column == "source" else "right")
    for view in views:
        values = view.latest.get("values", {})
        table.add_row(
            view.source,
            str(view.received),
            str(view.latest.get("time", "-"))[11:23],
            *(
                _number(values.get(name))
                for name in ("voltage", "current", "power", "energy", "frequency")
            ),
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
    while True:
        params: dict[str, Any] = {"source": view.source, "limit": 1000}
        if view.cursor:
            params["cursor"] = view.cursor
        page = client.get("/v1/readings", params=params).raise_for_status().json()
        if page["items"]:
            view.received += len(page["items"])
            view.latest = page["items"][-1]
        view.cursor = page["next_cursor"]
        if not page["has_more"]:
            return


def run_demo(seconds: float | None) -> int:
    console = Console()
    with tempfile.TemporaryDirectory(prefix="edgeward-demo-") as temporary:
        root = Path(temporary)
        children: list[ChildProcess] = []
        try:
            return _run(console, root, children, seconds)
        except ChildProcessError as exc:
            console.print(f"[red]demo failed:[/red] {exc}")
            return 1
        except KeyboardInterrupt:
            console.print("stopping…")
            return 0
        finally:
            for child in reversed(children):
                child.stop()


def _run(console: Console, root: Path, children: list[ChildProcess], seconds: float | None) -> int:
    cloud_dir = root / "cloud"
    console.print(f"[bold]Edgeward demo[/bold] in {root}")
    gateway = _admin(cloud_dir, "add-gateway", "--name", "demo-gateway")
    token = _admin(cloud_dir, "create-token", "--name", "demo-viewer", "--grant", "readings:GET")
    console.print(f"✓ cloud: gateway {gateway['gateway_id']} registered, read-only token created")

    cloud = ChildProcess(
        "cloud",
        [
            "cloud",
            "serve",
            "--data-dir",
            str(cloud_dir),
            "--port",
            "0",
            "--port-file",
            str(root / "cloud.port"),
        ],
        root / "cloud.log",
    ).start()
    children.append(cloud)
    cloud_url = f"http://127.0.0.1:{cloud.wait_for_port_file(root / 'cloud.port')}"
    with httpx.Client(base_url=cloud_url, timeout=5) as probe:
        cloud.wait_for(lambda: _healthy(probe), "healthy cloud")
    console.print(f"✓ cloud serving at {cloud_url} (SQLite in {cloud_dir})")

    meters = ChildProcess(
        "meters",
        [
            "simulate",
            "modbus-meters",
            "--port",
            "0",
            "--port-file",
            str(root / "meters.port"),
            "--units",
            *map(str, METER_UNITS),
        ],
        root / "meters.log",
    ).start()
    children.append(meters)
    meters_port = meters.wait_for_port_file(root / "meters.port")
    console.print(
        f"✓ {len(METER_UNITS)} simulated power meters on modbus-tcp://127.0.0.1:{meters_port}"
    )

    gateway_dir = root / "gateway"
    gateway_dir.mkdir()
    write_secret(gateway_dir / "credential", gateway["credential"])
    config_path = gateway_dir / "gateway.toml"
    config_path.write_text(
        dump_toml(
            gateway_document(
                gateway["gateway_id"],
                cloud_url,
                gateway_dir / "data",
                meters_port,
                poll_interval=1.0,
            )
        )
    )
    gateway_process = ChildProcess(
        "gateway", ["gateway", "run", "--config", str(config_path)], root / "gateway.log"
    ).start()
    children.append(gateway_process)
    console.print(f"✓ gateway running with {config_path}")

    views = [SourceView(f"meter-{unit}") for unit in METER_UNITS]
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {token['token']}"}
    with (
        httpx.Client(base_url=cloud_url, headers=headers, timeout=5) as client,
        Live(console=console, refresh_per_second=4) as live,
    ):
        while seconds is None or time.monotonic() - started < seconds:
            for view in views:
                _fetch(client, view)
            live.update(_render(views, time.monotonic() - started, children))
            for child in children:
                if not child.alive():
                    raise ChildProcessError(f"{child.name} stopped:\n{child.log_tail()}")
            time.sleep(REFRESH_SECONDS)
    total = sum(view.received for view in views)
    console.print(f"✓ {total} readings arrived in the cloud; stopping everything")
    return 0


def _healthy(client: httpx.Client) -> bool:
    try:
        return client.get("/healthz").status_code == 200
    except httpx.HTTPError:
        return False
