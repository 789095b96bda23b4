"""Keychain secrets of an account and their versions.

Values go in and never come out through the API: reads describe a secret
(name, current version, hosts, positions, times) and only the proxy opens a
value, at the moment it substitutes it. Versions are kept: a new value is a
new version; ``pinned_version`` holds an older one current (roll back) until
unpinned; retiring a version erases its ciphertext and wrapped key for good.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from edgeward.cloud.errors import Conflict, InvalidRequest, NotFound
from edgeward.cloud.identity.principal import new_id
from edgeward.cloud.keychain.keyring import Keyring, Sealed, context
from edgeward.cloud.storage.schema import keychain_secrets, keychain_versions
from edgeward.sync.clock import format_us

NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
HOST = re.compile(
    r"(\*\.)?[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?)*"
)
# Where a value may be substituted; "body" only if the secret opts in.
POSITIONS = ("path", "query", "headers", "body")
MAX_HOSTS = 50
MAX_VALUE = 8192


@dataclass(frozen=True, slots=True)
class Resolved:
    """A secret's current value, as the proxy substitutes it."""

    name: str
    version: int
    value: str
    hosts: tuple[str, ...]
    positions: tuple[str, ...]

    def allows_host(self, host: str) -> bool:
        return host_allowed(host, self.hosts)


def host_allowed(host: str, hosts: tuple[str, ...] | list[str]) -> bool:
    """Exact names, or ``*.example.com`` for its subdomains (not example.com itself)."""
    host = host.lower().rstrip(".")
    for allowed in hosts:
        if allowed.startswith("*.") and host.endswith(allowed[1:]) and host != allowed[2:]:
            return True
        if host == allowed:
            return True
    return False


def check_name(name: str, field: str = "name") -> str:
    if not NAME.fullmatch(name):
        raise InvalidRequest("expected 1 to 64 of letters, digits, '_', '.', '-'", field=field)
    return name


def check_hosts(hosts: list[str]) -> list[str]:
    if not 1 <= len(hosts) <= MAX_HOSTS:
        raise InvalidRequest(f"expected 1 to {MAX_HOSTS} destination hosts", field="hosts")
    checked = []
    for host in hosts:
        lowered = host.lower().rstrip(".")
        if not HOST.fullmatch(lowered) and not _is_ip(lowered):
            raise InvalidRequest(
                f"{host!r} is not a host name (no scheme, port or path; '*.' for subdomains)",
                field="hosts",
            )
        checked.append(lowered)
    return sorted(set(checked))


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True


def check_positions(positions: list[str]) -> list[str]:
    unknown = [p for p in positions if p not in POSITIONS]
    if unknown or not positions:
        raise InvalidRequest(
            f"expected one or more of {', '.join(POSITIONS)}; found {positions!r}",
            field="positions",
        )
    return [p for p in POSITIONS if p in positions]


def check_value(value: str) -> bytes:
    if not 1 <= len(value) <= MAX_VALUE:
        raise InvalidRequest(f"expected 1 to {MAX_VALUE} characters", field="value")
    return value.encode()


def _row(connection: sa.Connection, account_id: str, name: str) -> Any:
    row = connection.execute(
        sa.select(keychain_secrets).where(
            keychain_secrets.c.account_id == account_id, keychain_secrets.c.name == name
        )
    ).first()
    if row is None:
        raise NotFound(f"no keychain secret {name!r}")
    return row


def _versions(connection: sa.Connection, secret_id: str) -> list[Any]:
    return list(
        connection.execute(
            sa.select(
                keychain_versions.c.version,
                keychain_versions.c.created_us,
                keychain_versions.c.retired_us,
            )
            .where(keychain_versions.c.secret_id == secret_id)
            .order_by(keychain_versions.c.version)
        ).all()
    )


def _current_version(row: Any, versions: list[Any]) -> int | None:
    if row.pinned_version is not None:
        return int(row.pinned_version)
    active = [v.version for v in versions if v.retired_us is None]
    return max(active) if active else None


def _describe(row: Any, versions: list[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "current_version": _current_version(row, versions),
        "pinned_version": row.pinned_version,
        "latest_version": max((v.version for v in versions), default=None),
        "hosts": row.hosts,
        "positions": row.positions,
        "reference": f"[~{row.name}]",
        "created": format_us(row.created_us),
        "updated": format_us(row.updated_us),
    }


def _describe_version(row: Any, version: Any, versions: list[Any]) -> dict[str, Any]:
    current = _current_version(row, versions)
    return {
        "version": version.version,
        "status": "retired" if version.retired_us is not None else "active",
        "current": version.version == current,
        "created": format_us(version.created_us),
        "retired": format_us(version.retired_us),
    }


def describe(connection: sa.Connection, account_id: str, name: str) -> dict[str, Any]:
    row = _row(connection, account_id, name)
    return _describe(row, _versions(connection, row.id))


def list_secrets(connection: sa.Connection, account_id: str) -> list[dict[str, Any]]:
    rows = connection.execute(
        sa.select(keychain_secrets)
        .where(keychain_secrets.c.account_id == account_id)
        .order_by(keychain_secrets.c.name)
    ).all()
    return [_describe(row, _versions(connection, row.id)) for row in rows]


def create_secret(
    connection: sa.Connection,
    keyring: Keyring,
    account_id: str,
    name: str,
    value: str,
    hosts: list[str],
    positions: list[str],
    now: int,
) -> dict[str, Any]:
    check_name(name)
    plaintext = check_value(value)
    checked_hosts, checked_positions = check_hosts(hosts), check_positions(positions)
    exists = connection.execute(
        sa.select(keychain_secrets.c.id).where(
            keychain_secrets.c.account_id == account_id, keychain_secrets.c.name == name
        )
    ).first()
    if exists is not None:
        raise Conflict(f"keychain secret {name!r} exists; add a version to change its value")
    secret_id = new_id("sec")
    connection.execute(
        keychain_secrets.insert().values(
            id=secret_id,
            account_id=account_id,
            name=name,
            hosts=checked_hosts,
            positions=checked_positions,
            pinned_version=None,
            created_us=now,
            updated_us=now,
        )
    )
    _insert_version(connection, keyring, secret_id, 1, plaintext, now)
    return describe(connection, account_id, name)


def _insert_version(
    connection: sa.Connection,
    keyring: Keyring,
    secret_id: str,
    version: int,
    value: bytes,
    now: int,
) -> None:
    sealed = keyring.seal(value, context(secret_id, version))
    connection.execute(
        keychain_versions.insert().values(
            secret_id=secret_id,
            version=version,
            ciphertext=sealed.ciphertext,
            wrapped_key=sealed.wrapped_key,
            master_key_id=sealed.master_key_id,
            created_us=now,
            retired_us=None,
        )
    )


def _locked_row(connection: sa.Connection, account_id: str, name: str) -> Any:
    """The secret's row, locked against concurrent changes (FOR UPDATE on PostgreSQL;
    SQLite serialises writers anyway)."""
    row = connection.execute(
        sa.select(keychain_secrets)
        .where(keychain_secrets.c.account_id == account_id, keychain_secrets.c.name == name)
        .with_for_update()
    ).first()
    if row is None:
        raise NotFound(f"no keychain secret {name!r}")
    return row


def add_version(
    connection: sa.Connection, keyring: Keyring, account_id: str, name: str, value: str, now: int
) -> dict[str, Any]:
    """A new value; current at once unless an older version is pinned."""
    plaintext = check_value(value)
    row = _locked_row(connection, account_id, name)
    latest = max((v.version for v in _versions(connection, row.id)), default=0)
    _insert_version(connection, keyring, row.id, latest + 1, plaintext, now)
    _touch(connection, row.id, now)
    return describe(connection, account_id, name)


def _touch(connection: sa.Connection, secret_id: str, now: int, **values: Any) -> None:
    connection.execute(
        keychain_secrets.update()
        .where(keychain_secrets.c.id == secret_id)
        .values(updated_us=now, **values)
    )


def update_secret(
    connection: sa.Connection, account_id: str, name: str, changes: dict[str, Any], now: int
) -> dict[str, Any]:
    """Change hosts, positions or the pin (``pinned_version: null`` unpins)."""
    row = _locked_row(connection, account_id, name)
    values: dict[str, Any] = {}
    if changes.get("hosts") is not None:
        values["hosts"] = check_hosts(changes["hosts"])
    if changes.get("positions") is not None:
        values["positions"] = check_positions(changes["positions"])
    if "pinned_version" in changes:
        pin = changes["pinned_version"]
        if pin is not None:
            active = {v.version for v in _versions(connection, row.id) if v.retired_us is None}
            if pin not in active:
                raise InvalidRequest(
                    f"version {pin} is not an active version of {name!r}", field="pinned_version"
                )
        values["pinned_version"] = pin
    _touch(connection, row.id, now, **values)
    return describe(connection, account_id, name)


def list_versions(connection: sa.Connection, account_id: str, name: str) -> list[dict[str, Any]]:
    row = _row(connection, account_id, name)
    versions = _versions(connection, row.id)
    return [_describe_version(row, version, versions) for version in versions]


def get_version(
    connection: sa.Connection, account_id: str, name: str, version: int
) -> dict[str, Any]:
    row = _row(connection, account_id, name)
    versions = _versions(connection, row.id)
    for found in versions:
        if found.version == version:
            return _describe_version(row, found, versions)
    raise NotFound(f"keychain secret {name!r} has no version {version}")


def retire_version(
    connection: sa.Connection, account_id: str, name: str, version: int, now: int
) -> None:
    """Erase a version's ciphertext and wrapped key; it can never be current again."""
    row = _locked_row(connection, account_id, name)
    versions = _versions(connection, row.id)
    get_version(connection, account_id, name, version)
    if row.pinned_version == version:
        raise Conflict(f"version {version} of {name!r} is pinned; unpin or pin another first")
    active = [v.version for v in versions if v.retired_us is None and v.version != version]
    if not active:
        raise Conflict(f"version {version} is the last active one of {name!r}; delete the secret")
    connection.execute(
        keychain_versions.update()
        .where(
            keychain_versions.c.secret_id == row.id,
            keychain_versions.c.version == version,
            keychain_versions.c.retired_us.is_(None),
        )
        .values(retired_us=now, ciphertext=None, wrapped_key=None, master_key_id=None)
    )
    _touch(connection, row.id, now)


def delete_secret(connection: sa.Connection, account_id: str, name: str) -> None:
    row = _locked_row(connection, account_id, name)
    connection.execute(keychain_versions.delete().where(keychain_versions.c.secret_id == row.id))
    connection.execute(keychain_secrets.delete().where(keychain_secrets.c.id == row.id))


def resolve(connection: sa.Connection, keyring: Keyring, account_id: str, name: str) -> Resolved:
    """The current value of ``name`` (NotFound names only the secret, never a value)."""
    row = _row(connection, account_id, name)
    version = _current_version(row, _versions(connection, row.id))
    stored = connection.execute(
        sa.select(keychain_versions).where(
            keychain_versions.c.secret_id == row.id, keychain_versions.c.version == version
        )
    ).first()
    if stored is None or stored.ciphertext is None:
        raise Conflict(f"keychain secret {name!r} has no active version")
    sealed = Sealed(stored.ciphertext, stored.wrapped_key, stored.master_key_id)
    value = keyring.open(sealed, context(row.id, stored.version)).decode()
    return Resolved(name, stored.version, value, tuple(row.hosts), tuple(row.positions))
