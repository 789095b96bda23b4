"""``edgeward cloud ...``: serve the API and administer it from the server."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from edgeward.cloud.errors import ConfigurationError
from edgeward.cloud.settings import CloudSettings
from edgeward.cloud.storage.database import Database


def add_parser(subcommands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cloud = subcommands.add_parser("cloud", help="the cloud API service")
    actions = cloud.add_subparsers(dest="cloud_command", required=True)

    serve = actions.add_parser("serve", help="serve the API with uvicorn")
    _storage_options(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    serve.add_argument("--port-file", type=Path, help="write the bound port here once listening")
    serve.set_defaults(handler=_serve)

    admin = actions.add_parser("admin", help="administer the cloud from its host")
    admin_actions = admin.add_subparsers(dest="admin_command", required=True)
    add_gateway = admin_actions.add_parser(
        "add-gateway", help="register a gateway; prints its credential once"
    )
    _storage_options(add_gateway)
    add_gateway.add_argument("--name", required=True)
    add_gateway.set_defaults(handler=_add_gateway)

    create_token = admin_actions.add_parser(
        "create-token", help="create an API token; prints its secret once"
    )
    _storage_options(create_token)
    create_token.add_argument("--name", required=True)
    create_token.add_argument(
        "--grant",
        action="append",
        required=True,
        metavar="API:VERB[,VERB]",
        help="e.g. readings:GET; repeat for more APIs",
    )
    create_token.set_defaults(handler=_create_token)


def _storage_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="state directory (default $EDGEWARD_CLOUD_DATA_DIR or /var/lib/edgeward-cloud)",
    )
    parser.add_argument(
        "--db", help="sqlite:///path or postgresql://... (default: cloud.db in the data directory)"
    )


def _settings(args: argparse.Namespace) -> CloudSettings:
    return CloudSettings.load(args.data_dir, args.db)


def _serve(args: argparse.Namespace) -> int:
    from edgeward.cloud.serve import serve

    serve(_settings(args), args.host, args.port, args.port_file)
    return 0


@contextmanager
def _migrated_database(args: argparse.Namespace) -> Iterator[tuple[CloudSettings, Database]]:
    settings = _settings(args)
    database = Database(settings.db_url)
    try:
        database.migrate()
        yield settings, database
    finally:
        database.dispose()


def _add_gateway(args: argparse.Namespace) -> int:
    from edgeward.cloud.gateways import add_gateway

    with _migrated_database(args) as (settings, database):
        gateway = add_gateway(database.engine, settings.pepper, args.name)
    print(f"gateway_id = {gateway.id}")
    print(f"credential = {gateway.credential}")
    print("# The credential is shown once; the cloud keeps only a keyed hash of it.")
    return 0


def _create_token(args: argparse.Namespace) -> int:
    from edgeward.cloud.tokens import create_token, parse_grants

    try:
        grants = parse_grants(args.grant)
    except ValueError as exc:
        raise ConfigurationError(f"--grant: {exc}") from exc
    with _migrated_database(args) as (settings, database):
        token = create_token(database.engine, settings.pepper, args.name, grants)
    print(f"token = {token.secret}")
    print("# The token is shown once; the cloud keeps only a keyed hash of it.")
    return 0
