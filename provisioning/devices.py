"""``edgeward devices scan``, ``add`` and ``convert``: the installer's device steps.

- ``scan`` finds Modbus units, serial ports and BLE devices, and says which
  built-in types fit what it found (:mod:`~edgeward.provisioning.scan`).
- ``add`` binds a device in gateway.toml and registers it as a data source
  of this gateway (:mod:`~edgeward.provisioning.device_add`), with the
  installer's token, read from ``--token-file`` or ``$EDGEWARD_TOKEN`` and
  never from the command line (other users see argv).
- ``convert`` moves an old gateway.toml's inline register maps and
  decoders into data-source types (:mod:`~edgeward.provisioning.convert`).

Exit codes (also in docs/installers/devices.md): 0 done; 1 ``scan``: a bus
could not be reached, ``add``: the device did not answer (``--force`` goes
on); 2 usage: arguments, the type, a source or place already in
gateway.toml, a result the gateway's parser refuses; 4 the cloud
unreachable or refusing; 6 gateway.toml could not be written.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from edgeward.drivers.errors import DriverError
from edgeward.provisioning import scan
from edgeward.provisioning.convert_command import run_convert
from edgeward.provisioning.device_add import TOKEN_ENV, AddRequest, add_device
from edgeward.provisioning.errors import ProvisioningError, UsageError
from edgeward.provisioning.state import DEFAULT_ROOT

DEFAULT_CONFIG = DEFAULT_ROOT / "gateway.toml"


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
    _add_add(actions)
    convert = actions.add_parser(
        "convert", help="move an old gateway.toml's register maps and decoders into types"
    )
    convert.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="the gateway.toml")
    convert.add_argument(
        "--write", action="store_true", help="rewrite it without them (keeps FILE.bak)"
    )
    convert.set_defaults(handler=_convert)


def _add_add(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    add = actions.add_parser(
        "add", help="bind a device in gateway.toml and register it as a data source"
    )
    add.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    add.add_argument("--source", required=True, help="the data source's name")
    add.add_argument("--type", dest="type_id", required=True, help="its data-source type's id")
    add.add_argument(
        "--binding",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="where it is: bus=modbus-tcp://HOST:PORT and unit=N, port=TTY, topic=T, address=A",
    )
    add.add_argument("--poll-interval", type=float, metavar="SECONDS", help="how often to read")
    add.add_argument("--broker", metavar="HOST:PORT", help="MQTT: the broker the topic is on")
    add.add_argument("--baudrate", type=int, help="serial or Modbus RTU: a new port's speed")
    add.add_argument("--token-file", type=Path, help=f"the installer's token (or ${TOKEN_ENV})")
    add.add_argument(
        "--section",
        type=Path,
        metavar="FILE",
        help="bind it with this gateway.toml section (TOML) instead of --binding's",
    )
    add.add_argument("--force", action="store_true", help="register it even if it does not answer")
    add.add_argument("--timeout", type=float, default=3.0, help="seconds the device has to answer")
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
        for device, suggestions in found:
            print(f"  {device}")
            for suggestion in suggestions:
                print(f"    {suggestion}")
    return status


def _report(where: str, answers: list[scan.UnitAnswer]) -> None:
    print(f"{where}: {len(answers)} units answer")
    for answer in answers:
        print(f"  unit {answer.unit}: {answer.detail}")
        for fit in answer.fits:
            verdict = "fits" if fit.fits else "does not fit"
            print(f"    {verdict} {fit.type_id} ({fit.detail})")


def _add(args: argparse.Namespace) -> int:
    request = AddRequest(
        root=args.root,
        source=args.source,
        type_id=args.type_id,
        binding=args.binding,
        token_file=args.token_file,
        section=args.section,
        poll_interval=args.poll_interval,
        broker=args.broker,
        baudrate=args.baudrate,
        force=args.force,
        timeout=args.timeout,
    )
    return _run(lambda: add_device(request, print))


def _convert(args: argparse.Namespace) -> int:
    return _run(lambda: run_convert(args.config, write_file=args.write, say=print))


def _run(step: Callable[[], object]) -> int:
    try:
        step()
    except ProvisioningError as exc:
        print(f"✗ {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  what to check: {exc.hint}", file=sys.stderr)
        return exc.exit_code
    return 0
