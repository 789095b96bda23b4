"""The ``edgeward`` command: one entry point, a subcommand per part."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

import edgeward
from edgeward.cloud.errors import ConfigurationError
from edgeward.cloud.service import cli as cloud_cli
from edgeward.gateway import cli as gateway_cli
from edgeward.gateway.errors import ConfigError, KeyringError
from edgeward.provisioning import cli as provisioning_cli
from edgeward.provisioning import devices as devices_cli

EXIT_CONFIG_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edgeward", description=edgeward.__doc__)
    parser.add_argument("--version", action="version", version=f"edgeward {edgeward.__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    subcommands = parser.add_subparsers(dest="command", required=True)
    cloud_cli.add_parser(subcommands)
    gateway_cli.add_parser(subcommands)
    provisioning_cli.add_parser(subcommands)
    devices_cli.add_parser(subcommands)
    demo = subcommands.add_parser("demo", help="cloud, simulated meters and a gateway, live")
    demo.add_argument("--seconds", type=float, help="stop after this long (default: Ctrl-C)")
    demo.add_argument(
        "--no-tunnel",
        action="store_true",
        help="everything on this host, no WireGuard (the default without root)",
    )
    demo.set_defaults(handler=_demo)
    simulate = subcommands.add_parser("simulate", help="run a device simulator")
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
    return parser


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


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    try:
        return int(args.handler(args))
    except (ConfigError, ConfigurationError, KeyringError) as exc:
        print(f"edgeward: {exc}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    except KeyboardInterrupt:
        return 130
