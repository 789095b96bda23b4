"""``edgeward cloud ...``: serve the API and administer it from the server."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from edgeward.cloud.config.settings import CloudSettings
from edgeward.cloud.errors import ConfigurationError
from edgeward.cloud.storage.database import Database
from edgeward.sync.clock import format_us, now_us


def add_parser(subcommands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cloud = subcommands.add_parser("cloud", help="the cloud API service")
    actions = cloud.add_subparsers(dest="cloud_command", required=True)

    serve = actions.add_parser("serve", help="serve the API with uvicorn")
    _storage_options(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    serve.add_argument("--port-file", type=Path, help="write the bound port here once listening")
    serve.add_argument("--unix-socket", type=Path, help="also listen on this Unix socket (0600)")
    serve.set_defaults(handler=_serve)

    admin = actions.add_parser("admin", help="administer the cloud from its host")
    admin_actions = admin.add_subparsers(dest="admin_command", required=True)
    create_account = admin_actions.add_parser(
        "create-account", help="bootstrap an account; prints the owner's first token once"
    )
    _storage_options(create_account)
    create_account.add_argument("--name", required=True)
    create_account.add_argument("--owner-email", required=True)
    create_account.set_defaults(handler=_create_account)

    owner_token = admin_actions.add_parser(
        "issue-owner-token",
        help="recovery: a new token for an account's owner (prints it once)",
    )
    _storage_options(owner_token)
    owner_token.add_argument("--account", required=True, help="account id (acc-...)")
    owner_token.add_argument("--email", help="which owner, if the account has several")
    owner_token.set_defaults(handler=_issue_owner_token)

    add_gateway = admin_actions.add_parser(
        "add-gateway", help="register a gateway in an account; prints its credential once"
    )
    _storage_options(add_gateway)
    add_gateway.add_argument("--account", required=True, help="account id (acc-...)")
    add_gateway.add_argument("--name", required=True)
    add_gateway.set_defaults(handler=_add_gateway)

    rotate = admin_actions.add_parser(
        "rotate-master-key",
        help="a new keychain master key; re-wraps every data key without opening any secret",
    )
    _storage_options(rotate)
    rotate.set_defaults(handler=_rotate_master_key)


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
    from edgeward.cloud.service.serve import serve

    serve(_settings(args), args.host, args.port, args.port_file, args.unix_socket)
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


def _create_account(args: argparse.Namespace) -> int:
    from edgeward.cloud.identity.accounts import create_account

    with _migrated_database(args) as (settings, database), database.engine.begin() as connection:
        created = create_account(connection, settings.pepper, args.name, args.owner_email, now_us())
    print(f"account_id = {created.account_id}")
    print(f"owner_id = {created.owner_id}")
    print(f"token = {created.token.secret}")
    print(f"# The owner's token is shown once and expires {format_us(created.token.expires_us)};")
    print("# the cloud keeps only a keyed hash of it.")
    return 0


def _issue_owner_token(args: argparse.Namespace) -> int:
    """Recovery from the server's own shell, for when every owner token is lost."""
    from edgeward.cloud.identity.accounts import issue_owner_token

    with _migrated_database(args) as (settings, database), database.engine.begin() as connection:
        issued = issue_owner_token(connection, settings.pepper, args.account, args.email, now_us())
    print(f"token = {issued.secret}")
    print(f"# Shown once; expires {format_us(issued.expires_us)}. Audited as account.recovery.")
    return 0


def _add_gateway(args: argparse.Namespace) -> int:
    from edgeward.cloud.fleet.gateways import add_gateway
    from edgeward.cloud.identity.accounts import describe_account

    with _migrated_database(args) as (settings, database), database.engine.begin() as connection:
        try:
            describe_account(connection, args.account)
        except sa.exc.NoResultFound as exc:
            raise ConfigurationError(f"--account: no account {args.account!r}") from exc
        gateway = add_gateway(connection, settings.pepper, args.account, args.name, now_us())
    print(f"gateway_id = {gateway.id}")
    print(f"credential = {gateway.credential}")
    print("# The credential is shown once; the cloud keeps only a keyed hash of it.")
    return 0


def _rotate_master_key(args: argparse.Namespace) -> int:
    from edgeward.cloud.keychain.keyring import Keyring
    from edgeward.cloud.service.master_key import rotate_master_key

    with _migrated_database(args) as (settings, database):
        keyring = Keyring.load(settings.data_dir)
        rotation = rotate_master_key(database, keyring)
    print(f"master_key_id = {rotation.new_key_id}")
    print(f"rewrapped = {rotation.rewrapped}")
    print(f"kept = {','.join(rotation.kept_key_ids)}")
    print(f"# {keyring.path}: the new key is current; the one it replaced is kept for workers")
    print("# that have not yet re-read the file, and goes at the next rotation.")
    return 0
