"""``edgeward provision``: the installer's command.

Exit codes (also in docs/installers/provisioning.md): 0 provisioned; 2 usage
(missing --cloud/--claim, unreadable state); 3 claim code refused (typo,
unknown, expired, revoked, used); 4 cloud unreachable or refusing; 5 tunnel down or the cloud not
reachable through it; 6 the gateway's files could not be written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edgeward.provisioning.errors import EXIT_OK, ProvisioningError
from edgeward.provisioning.installer import Options, provision, rotate_keys
from edgeward.provisioning.state import DEFAULT_ROOT
from edgeward.provisioning.steps import Steps

DEFAULT_INTERFACE = "edgeward0"


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="default /etc/edgeward")
    parser.add_argument("--no-tunnel", action="store_true", help="talk to the cloud directly")
    parser.add_argument("--interface", default=DEFAULT_INTERFACE, help="WireGuard interface")
    parser.add_argument(
        "--userspace", action="store_true", help="use wireguard-go even if the kernel has WireGuard"
    )
    parser.add_argument(
        "--owner",
        help="user the gateway runs as: gets its secrets and data dir "
        "(default: edgeward when run as root and that user exists)",
    )


def add_parser(subcommands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    provision_parser = subcommands.add_parser(
        "provision", help="enroll this gateway with a claim code and bring its tunnel up"
    )
    provision_parser.add_argument("--cloud", help="the cloud's URL as reachable from here")
    provision_parser.add_argument("--claim", help="the claim code (XXXXX-XXXXX-C)")
    provision_parser.add_argument("--name", help="the gateway's name in the cloud")
    _common(provision_parser)
    provision_parser.set_defaults(handler=_provision)
    actions = provision_parser.add_subparsers(dest="provision_command")
    rotate = actions.add_parser("rotate-keys", help="new identity and WireGuard keys")
    _common(rotate)
    rotate.set_defaults(handler=_rotate)


def _options(args: argparse.Namespace) -> Options:
    return Options(
        root=args.root,
        cloud_url=getattr(args, "cloud", None),
        claim=getattr(args, "claim", None),
        name=getattr(args, "name", None),
        tunnel=not args.no_tunnel,
        interface=args.interface,
        userspace=args.userspace,
        owner=args.owner,
    )


def _provision(args: argparse.Namespace) -> int:
    try:
        state = provision(_options(args), Steps(4))
    except ProvisioningError as exc:
        print(f"provisioning stopped (exit {exc.exit_code}); re-run to resume", file=sys.stderr)
        return exc.exit_code
    config = Path(args.root) / "gateway.toml"
    print(f"done: gateway {state.gateway_id} provisioned")
    print(f"run it: edgeward gateway run --config {config}")
    return EXIT_OK


def _rotate(args: argparse.Namespace) -> int:
    try:
        state = rotate_keys(_options(args), Steps(4))
    except ProvisioningError as exc:
        print(f"key rotation stopped (exit {exc.exit_code}); re-run to resume", file=sys.stderr)
        return exc.exit_code
    print(f"done: gateway {state.gateway_id} has new keys")
    return EXIT_OK
