"""``edgeward gateway ...``: run the gateway and check its config."""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

from edgeward.gateway.config.loader import load_config

DEFAULT_CONFIG = Path("/etc/edgeward/gateway.toml")


def add_parser(subcommands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    gateway = subcommands.add_parser("gateway", help="the edge runtime")
    actions = gateway.add_subparsers(dest="gateway_command", required=True)
    run = actions.add_parser("run", help="run the gateway until SIGTERM or Ctrl-C")
    run.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    run.set_defaults(handler=_run)
    check = actions.add_parser("check-config", help="validate gateway.toml and exit")
    check.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    check.set_defaults(handler=_check)
    status = actions.add_parser("status", help="the running gateway's outbox, uplink and devices")
    status.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    status.add_argument("--json", action="store_true", help="the raw status.json")
    status.set_defaults(handler=_status)
    rotate = actions.add_parser(
        "rotate-key", help="seal new outbox rows under a fresh key (from the next start)"
    )
    rotate.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    rotate.set_defaults(handler=_rotate_key)


def _check(args: argparse.Namespace) -> int:
    """The file, then its bindings against the registry last verified (exit 2 if they differ)."""
    from edgeward.gateway.admission.binding_check import cached_registry, check_bindings

    config = load_config(args.config)
    sources = config.source_count
    registry = cached_registry(config)
    if registry is None:
        print(f"{args.config}: OK (gateway {config.gateway_id}, {sources} data sources)")
        print("  no verified registry yet: bindings are checked once the gateway pulled one")
        return 0
    report = check_bindings(config, registry)
    for problem in report.problems:
        print(f"✗ {problem}")
    for note in report.notes:
        print(f"  note: {note}")
    if report.problems:
        print(f"{args.config}: {len(report.problems)} binding(s) differ from the registry")
        return 2
    print(
        f"{args.config}: OK (gateway {config.gateway_id}, {sources} data sources, "
        "bindings match the registry)"
    )
    return 0


def _status(args: argparse.Namespace) -> int:
    from edgeward.gateway.health.status_table import show_status

    return show_status(load_config(args.config), args.json)


def _rotate_key(args: argparse.Namespace) -> int:
    """Adds a key and makes it current; old keys stay until no row uses them.

    The running gateway keeps sealing under the key it loaded until it is
    restarted, and only the gateway retires keys (at start), so running this
    beside a live gateway never strands a row.
    """
    from edgeward.gateway.outbox.data_keys import Keyring

    config = load_config(args.config)
    keyring = Keyring.load_or_create(config.data_dir / "outbox.keys")
    key = keyring.rotate()
    print(f"outbox key {key.key_id} is current from the next start; keys {keyring.key_ids}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from edgeward.gateway.runtime.service import serve

    config = load_config(args.config)  # a bad gateway.toml exits 2 before anything starts

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await serve(args.config, stop, config)

    asyncio.run(main())
    return 0
