"""``edgeward devices scan`` and ``edgeward devices add``: the installer's device steps.

``add`` registers a data source with the cloud for this gateway (its id from
the provisioned gateway.toml, the cloud URL from the provisioning state),
with the installer's token, read from ``--token-file`` or
``$EDGEWARD_TOKEN`` and never from the command line (other users see argv).
The cloud then admits that source's readings from the bus, port or address
given as its binding. With ``--section FILE`` the device's gateway-side
section is merged into gateway.toml (:mod:`edgeward.provisioning.device_config`),
checked by the gateway's parser before the cloud is asked.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from edgeward.drivers.errors import DriverError
from edgeward.provisioning import device_config, scan
from edgeward.provisioning.cloud_client import register_source
from edgeward.provisioning.errors import ProvisioningError, UsageError
from edgeward.provisioning.state import DEFAULT_ROOT, Layout, load_enrolled

TOKEN_ENV = "EDGEWARD_TOKEN"  # noqa: S105 - the variable's name, not a secret


def add_parser(subcommands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    devices = subcommands.add_parser("devices", help="find devices and register them")
    actions = devices.add_subparsers(dest="devices_command", required=True)
    scan_parser = actions.add_parser("scan", help="Modbus units, serial ports, BLE devices")
    scan_parser.add_argument("--modbus-tcp", metavar="HOST:PORT", action="append", default=[])
    scan_parser.add_argument("--modbus-rtu", metavar="TTY", action="append", default=[])
    scan_parser.add_argument("--baudrate", type=int, default=9600)
    scan_parser.add_argument("--units", default="1-10", help="unit ids, e.g. 1-10 or 1,2,5")
    scan_parser.add_argument("--timeout", type=float, default=0.5, help="seconds per unit")
    scan_parser.add_argument("--ble", type=float, metavar="SECONDS", help="scan BLE this long")
    scan_parser.set_defaults(handler=_scan)
    add = actions.add_parser("add", help="register a data source of this gateway with the cloud")
    add.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    add.add_argument("--source", required=True, help="the data source's name")
    add.add_argument("--type", dest="type_id", required=True, help="data-source type id")
    add.add_argument(
        "--binding", action="append", default=[], metavar="KEY=VALUE", help="e.g. unit=1"
    )
    add.add_argument("--token-file", type=Path, help=f"the installer's token (or ${TOKEN_ENV})")
    add.add_argument(
        "--section",
        type=Path,
        metavar="FILE",
        help="the device's gateway.toml section (TOML), merged into gateway.toml once checked",
    )
    add.set_defaults(handler=_add)


def parse_units(text: str) -> list[int]:
    units: list[int] = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        if not low.strip().isdigit() or (high and not high.strip().isdigit()):
            raise UsageError(f"--units: expected ranges like 1-10 or 1,2,5, found {text!r}")
        units.extend(range(int(low), int(high or low) + 1))
    if not units or min(units) < 0 or max(units) > 247:
        raise UsageError(f"--units: Modbus unit ids are 0-247, found {text!r}")
    return units


def _scan(args: argparse.Namespace) -> int:
    try:
        units = parse_units(args.units)
    except UsageError as exc:
        print(f"edgeward devices scan: {exc.message}", file=sys.stderr)
        return exc.exit_code
    status = 0
    buses = [("tcp", e) for e in args.modbus_tcp] + [("rtu", p) for p in args.modbus_rtu]
    for kind, target in buses:
        where = f"modbus-{kind}://{target}"
        try:
            if kind == "tcp":
                answers = scan.probe_modbus_tcp(target, units, args.timeout)
            else:
                answers = scan.probe_modbus_rtu(target, args.baudrate, units, args.timeout)
        except DriverError as exc:
            print(f"✗ {where}: {exc}")
            status = 1
            continue
        _report(where, answers)
    ports = scan.serial_ports()
    print(f"serial ports: {len(ports)}")
    for port in ports:
        print(f"  {port}")
    if args.ble is not None:
        found, why_not = scan.ble_devices(args.ble)
        print(f"BLE: {why_not}" if why_not else f"BLE: {len(found)} devices")
        for device in found:
            print(f"  {device}")
    return status


def _report(where: str, answers: list[scan.UnitAnswer]) -> None:
    print(f"{where}: {len(answers)} units answer")
    for answer in answers:
        print(f"  unit {answer.unit}: {answer.detail}")


def _binding(entries: list[str]) -> dict[str, Any]:
    binding: dict[str, Any] = {}
    for entry in entries:
        key, separator, value = entry.partition("=")
        if not separator or not key:
            raise UsageError(f"--binding: expected KEY=VALUE, found {entry!r}")
        binding[key] = int(value) if value.isdigit() else value
    return binding


def _token(token_file: Path | None) -> str:
    if token_file is not None:
        try:
            return token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageError(f"--token-file {token_file}: {exc.strerror}") from exc
    token = os.environ.get(TOKEN_ENV)
    if not token:
        raise UsageError(f"the installer's token: give --token-file or set ${TOKEN_ENV}")
    return token


def add_source(args: argparse.Namespace) -> dict[str, Any]:
    layout = Layout(args.root)
    state = load_enrolled(layout)
    section = (
        device_config.prepare(layout.config, args.section, args.source) if args.section else None
    )
    body = {
        "name": args.source,
        "type_id": args.type_id,
        "gateway_id": state.gateway_id,
        "binding": _binding(args.binding),
    }
    created = register_source(state.cloud_url, _token(args.token_file), body)
    if section:
        device_config.keep(layout.config, section)
    return created


def _add(args: argparse.Namespace) -> int:
    try:
        created = add_source(args)
    except ProvisioningError as exc:
        print(f"✗ {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  what to check: {exc.hint}", file=sys.stderr)
        return exc.exit_code
    print(f"✓ data source {created['name']} ({created['id']}) registered for this gateway")
    if args.section:
        print(f"✓ its section from {args.section} added to {Layout(args.root).config}")
    return 0
