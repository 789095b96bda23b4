"""The ``edgeward`` command: one entry point, a subcommand per part.

Each subcommand belongs to a role, and a role's libraries come with its pip
extra: the base install is the gateway and the installer's tools, the cloud
needs ``edgeward[cloud]``, the demo ``edgeward[demo]``. So that a gateway
never loads the cloud's libraries (nor needs them installed), only the chosen
subcommand's part is imported; the others appear in ``--help`` by name. A
subcommand whose extra is missing says which one to install, exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import edgeward

EXIT_CONFIG_ERROR = 2


@dataclass(frozen=True)
class Extra:
    what: str  # what it installs, for the message when it is missing
    libraries: tuple[str, ...]


# The top-level modules each extra brings (imported by its role's code), so a
# missing one can be traced to the extra to install.
CLOUD_LIBRARIES = (
    "fastapi",
    "starlette",
    "pydantic",
    "uvicorn",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "ldap3",
    "authlib",
)
EXTRAS = {
    "cloud": Extra("the cloud role", CLOUD_LIBRARIES),
    "simulators": Extra("the BLE simulator", ("bumble",)),
    "demo": Extra("the demo", (*CLOUD_LIBRARIES, "rich")),  # edgeward[demo] includes [cloud]
}
# Errors a user fixes by changing what they gave (a config, a URL): a message,
# exit 2. Named by module, as only the chosen part's are ever imported.
USER_ERRORS = (
    ("edgeward.gateway.errors", "ConfigError"),
    ("edgeward.gateway.errors", "KeyringError"),
    ("edgeward.cloud.errors", "ConfigurationError"),
)


@dataclass(frozen=True)
class Subcommand:
    help: str
    # The part's module whose add_parser() adds this subcommand; None: defined here.
    module: str | None
    # The pip extra its role needs; None: the base install has all it needs.
    extra: str | None


SUBCOMMANDS = {
    "cloud": Subcommand("the cloud API service", "edgeward.cloud.service.cli", "cloud"),
    "gateway": Subcommand("the edge runtime", "edgeward.gateway.cli", None),
    "provision": Subcommand(
        "enroll this gateway with a claim code and bring its tunnel up",
        "edgeward.provisioning.cli",
        None,
    ),
    "devices": Subcommand("find devices and register them", "edgeward.provisioning.devices", None),
    "demo": Subcommand("cloud, simulated meters and a gateway, live", None, "demo"),
    "simulate": Subcommand("run a device simulator", None, None),
}


def chosen_subcommand(argv: Sequence[str]) -> str | None:
    """The first argument that is not an option: the global options take no values."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """The full parser of ``chosen``, and every other subcommand by name and help only."""
    parser = argparse.ArgumentParser(prog="edgeward", description=edgeward.__doc__)
    parser.add_argument("--version", action="version", version=f"edgeward {edgeward.__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    subcommands = parser.add_subparsers(dest="command", required=True)
    for name, subcommand in SUBCOMMANDS.items():
        if name != chosen:
            subcommands.add_parser(name, help=subcommand.help)
        elif subcommand.module is not None:
            importlib.import_module(subcommand.module).add_parser(subcommands)
        else:
            LOCAL_PARSERS[name](subcommands.add_parser(name, help=subcommand.help))
    return parser


def _add_demo(demo: argparse.ArgumentParser) -> None:
    demo.add_argument("--seconds", type=float, help="stop after this long (default: Ctrl-C)")
    demo.add_argument(
        "--no-tunnel",
        action="store_true",
        help="everything on this host, no WireGuard (the default without root)",
    )
    demo.set_defaults(handler=_demo)


def _add_simulate(simulate: argparse.ArgumentParser) -> None:
    simulate_kinds = simulate.add_subparsers(dest="simulator", required=True)
    meters = simulate_kinds.add_parser("modbus-meters", help="power meters on Modbus TCP or RTU")
    meters.add_argument("--host", default="127.0.0.1")
    meters.add_argument("--port", type=int, default=5020, help="0 picks a free port")
    meters.add_argument("--units", type=int, nargs="+", default=[1, 2])
    meters.add_argument("--port-file", help="write the bound port here once listening")
    meters.add_argument("--serial-port", help="serve Modbus RTU on this tty instead of TCP")
    meters.set_defaults(handler=_simulate_meters)
    sensor = simulate_kinds.add_parser("serial-sensor", help="a sensor on a serial port")
    sensor.add_argument("--port", required=True, help="the tty (e.g. one end of a socat pty pair)")
    sensor.add_argument("--protocol", choices=("line", "stx", "length"), default="line")
    sensor.add_argument("--interval", type=float, default=1.0, help="seconds between frames")
    sensor.add_argument("--respond-to", help="answer only this request instead of streaming")
    sensor.add_argument("--garbage-every", type=int, default=0, help="junk before every Nth frame")
    sensor.add_argument("--baudrate", type=int, default=9600)
    sensor.set_defaults(handler=_simulate_serial_sensor)
    mqtt = simulate_kinds.add_parser("mqtt-sensor", help="a sensor publishing JSON over MQTT")
    mqtt.add_argument("--host", default="127.0.0.1")
    mqtt.add_argument("--port", type=int, default=1883)
    mqtt.add_argument("--topic", action="append", required=True, help="repeat for more topics")
    mqtt.add_argument("--interval", type=float, default=1.0)
    mqtt.add_argument("--username")
    mqtt.add_argument(
        "--password-file", help="a file holding the password (not on the command line)"
    )
    mqtt.add_argument("--ca-file", help="use TLS, verifying the broker against this CA")
    mqtt.add_argument("--garbage-every", type=int, default=0, help="every Nth message not JSON")
    mqtt.set_defaults(handler=_simulate_mqtt_sensor)


LOCAL_PARSERS = {"demo": _add_demo, "simulate": _add_simulate}


def _demo(args: argparse.Namespace) -> int:
    from edgeward.demo.run import run_demo

    return run_demo(args.seconds, tunnel=not args.no_tunnel)


def _simulate_meters(args: argparse.Namespace) -> int:
    from edgeward.drivers.simulators.power_meters import run_power_meters

    return run_power_meters(args.host, args.port, args.units, args.port_file, args.serial_port)


def _simulate_serial_sensor(args: argparse.Namespace) -> int:
    from edgeward.drivers.simulators.serial_sensor import run_serial_sensor

    return run_serial_sensor(
        args.port, args.protocol, args.interval, args.respond_to, args.garbage_every, args.baudrate
    )


def _simulate_mqtt_sensor(args: argparse.Namespace) -> int:
    from edgeward.drivers.simulators.mqtt_sensor import run_mqtt_sensor

    return run_mqtt_sensor(
        args.host,
        args.port,
        args.topic,
        interval=args.interval,
        username=args.username,
        password_file=args.password_file,
        ca_file=args.ca_file,
        garbage_every=args.garbage_every,
    )


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # pymodbus logs every frame and each failed connect at INFO/WARNING; the
    # coordinator reports availability changes once, which is what operators need.
    logging.getLogger("pymodbus").setLevel(logging.ERROR)
    logging.getLogger("httpx").setLevel(logging.WARNING)


def missing_extra(chosen: str | None, exc: ModuleNotFoundError) -> str | None:
    """What to install when ``exc`` is a library of an extra; None for anything else
    (an install without its base dependencies, or a bug: the traceback is wanted)."""
    library = (exc.name or "").partition(".")[0]
    own = SUBCOMMANDS[chosen].extra if chosen in SUBCOMMANDS else None
    for name in ([own] if own else []) + list(EXTRAS):
        if library in EXTRAS[name].libraries:
            return (
                f"{EXTRAS[name].what} is not installed (no module named {library!r}): "
                f"pip install 'edgeward[{name}]'"
            )
    return None


def _user_errors() -> tuple[type[Exception], ...]:
    """The user-error classes among the modules imported: an error class never imported
    was never raised."""
    found = (getattr(sys.modules.get(module), name, None) for module, name in USER_ERRORS)
    return tuple(error for error in found if isinstance(error, type))


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    chosen = chosen_subcommand(argv)
    try:
        args = build_parser(chosen).parse_args(argv)
        configure_logging(args.verbose)
        return int(args.handler(args))
    except ModuleNotFoundError as exc:
        message = missing_extra(chosen, exc)
        if message is None:
            raise
        print(f"edgeward: {message}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if not isinstance(exc, _user_errors()):
            raise
        print(f"edgeward: {exc}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
