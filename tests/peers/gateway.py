"""The real gateway program, configured for a test's cloud and Modbus devices."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from edgeward.gateway.config.toml_writer import dump_toml, write_secret
from edgeward.gateway.outbox.data_keys import Keyring
from edgeward.harness.processes import ChildProcess
from tests.peers.cloud import CloudServer, RegisteredGateway


def write_gateway_config(
    root: Path,
    cloud: CloudServer | str,
    gateway: RegisteredGateway,
    modbus_port: int,
    devices: list[dict[str, Any]],
    *,
    tables: dict[str, dict[str, Any]] | None = None,
    **uplink: Any,
) -> Path:
    """gateway.toml for one Modbus TCP server on loopback; ``tables`` adds keys to
    (or adds) top-level tables.

    ``devices`` are a test's whole description of each unit: source, unit,
    poll interval and ``registers``. gateway.toml gets only the binding; the
    register map is the source's type. Given the :class:`CloudServer` (not
    only its URL), each source is registered there with a type of its
    register map, bound at this server and its unit; a URL alone leaves the
    cloud as it is (a cloud that is away, or a test registering by hand).
    """
    if isinstance(cloud, CloudServer):
        cloud.bind_modbus(gateway.id, modbus_tcp_bus(modbus_port), devices)
    cloud_url = cloud.url if isinstance(cloud, CloudServer) else cloud
    gateway_dir = root / "gateway"
    write_secret(gateway_dir / "credential", gateway.credential)
    document = {
        "gateway": {"id": gateway.id, "data_dir": "data"},
        "cloud": {"url": cloud_url, "credential_file": "credential"},
        "uplink": {"idle_interval": 0.05, "backoff_max": 1.0, **uplink},
        "modbus_tcp": [
            {
                "host": "127.0.0.1",
                "port": modbus_port,
                "devices": [
                    {key: value for key, value in device.items() if key != "registers"}
                    for device in devices
                ],
            }
        ],
    }
    for name, values in (tables or {}).items():
        document.setdefault(name, {}).update(values)
    path = gateway_dir / "gateway.toml"
    path.write_text(dump_toml(document))
    return path


def modbus_tcp_bus(port: int, host: str = "127.0.0.1") -> str:
    """The bus part of the origin the Modbus TCP driver gives its readings."""
    return f"modbus-tcp://{host}:{port}"


def gateway_process(config: Path, log_name: str = "gateway.log") -> ChildProcess:
    return ChildProcess(
        "gateway", ["gateway", "run", "--config", str(config)], config.parent / log_name
    )


def outbox_state(config: Path) -> tuple[int, int]:
    """(highest sequence ever committed, readings still waiting) of a stopped gateway."""
    with sqlite3.connect(config.parent / "data" / "outbox.db") as db:
        row = db.execute("SELECT seq FROM sqlite_sequence WHERE name='readings'").fetchone()
        (waiting,) = db.execute("SELECT count(*) FROM readings").fetchone()
    return (row[0] if row else 0), waiting


def outbox_sequences(config: Path) -> range:
    """Every sequence number the gateway's current outbox file has given out.

    A fresh outbox starts above the clock (never at 1), and records where in ``meta``.
    """
    with sqlite3.connect(config.parent / "data" / "outbox.db") as db:
        (first,) = db.execute("SELECT value FROM meta WHERE name = 'first_seq'").fetchone()
        row = db.execute("SELECT seq FROM sqlite_sequence WHERE name='readings'").fetchone()
    return range(first + 1, row[0] + 1)


__all__ = [
    "CloudServer",
    "gateway_process",
    "modbus_tcp_bus",
    "outbox_sequences",
    "outbox_state",
    "write_gateway_config",
]


def read_outbox(config: Path) -> list[tuple[str, dict[str, Any]]]:
    """(source, values) of every reading waiting in a gateway's sealed outbox, in order.

    Opens the rows with the gateway's own keyring, read-only, while the gateway
    may still be writing (WAL lets readers in).
    """
    data = config.parent / "data"
    database, keys = data / "outbox.db", data / "outbox.keys"
    if not database.exists() or not keys.exists():
        return []
    keyring = Keyring.load_or_create(keys)
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
            rows = db.execute("SELECT seq, key_id, sealed FROM readings ORDER BY seq").fetchall()
    except sqlite3.OperationalError:
        return []  # the gateway is still creating its schema
    found = []
    for seq, key_id, sealed in rows:
        source, _time_us, values = json.loads(keyring.open(seq, key_id, sealed))
        found.append((source, values))
    return found
