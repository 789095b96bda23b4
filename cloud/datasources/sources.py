"""Data sources: registered by an account, tied to a type and a gateway, with credentials.

A source's key (``hmac`` and ``sealed`` types) is generated here, shown once,
and kept sealed under the cloud master key (the registry hands it to the
gateway only where the gateway opens the reports; for ``sealed_for: cloud``
the gateway gets the derived authentication key alone); an ``ed25519`` source uploads its
public key and the cloud never sees the private half. ``bound`` sources have
no key: where the installer registered them (the binding) is their identity.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from edgeward.cloud.crypto.keys import SealedBox
from edgeward.cloud.datasources.sealed import forget_counters
from edgeward.cloud.datasources.types import get_type
from edgeward.cloud.errors import Conflict, InvalidRequest
from edgeward.cloud.fleet.gateways import get_gateway
from edgeward.cloud.identity.principal import new_id
from edgeward.cloud.storage.owned import owned_row
from edgeward.cloud.storage.schema import data_sources
from edgeward.sync.batch import IDENTIFIER_RULE, is_identifier
from edgeward.sync.clock import format_us
from edgeward.sync.reports import authentication_key

KEY_BYTES = 32
# Where a source sits, per transport: what a bound source is identified by.
BINDING_KEYS: dict[str, dict[str, type]] = {
    "modbus": {"bus": str, "unit": int},
    "serial": {"port": str},
    "ble": {"address": str},
    "mqtt": {"topic": str},
}
OPTIONAL_BINDING_KEYS = {"serial_number": str}


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the caller sees once: a generated key, or nothing new for ed25519/bound."""

    key_b64: str | None


def _check_name(name: str) -> None:
    if not is_identifier(name):
        raise InvalidRequest(f"expected {IDENTIFIER_RULE}", field="name")


def _check_binding(transport: str, binding: dict[str, Any]) -> dict[str, Any]:
    required = BINDING_KEYS[transport]
    allowed = {**required, **OPTIONAL_BINDING_KEYS}
    for key, value in binding.items():
        if key not in allowed:
            raise InvalidRequest(
                f"unknown key; a {transport} binding has {', '.join(allowed)}",
                field=f"binding.{key}",
            )
        if not isinstance(value, allowed[key]) or isinstance(value, bool) or value in ("", None):
            raise InvalidRequest(f"expected a {allowed[key].__name__}", field=f"binding.{key}")
    for key in required:
        if key not in binding:
            raise InvalidRequest(f"a {transport} source is bound by {key}", field=f"binding.{key}")
    return binding


def _public_key(value: str | None) -> str:
    try:
        raw = base64.b64decode(value or "", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequest("expected a base64 Ed25519 public key", field="public_key") from exc
    if len(raw) != 32:
        raise InvalidRequest("an Ed25519 public key is 32 bytes", field="public_key")
    return base64.b64encode(raw).decode()


def _new_credentials(
    box: SealedBox, source_id: str, auth_mode: str, public_key: str | None
) -> tuple[dict[str, Any], Credentials]:
    """Column values and what to show once, for a source of ``auth_mode``."""
    if auth_mode in ("hmac", "sealed"):
        key = secrets.token_bytes(KEY_BYTES)
        sealed = box.seal(key, source_id)
        return {"sealed_key": sealed, "public_key": None}, Credentials(
            base64.b64encode(key).decode()
        )
    if auth_mode == "ed25519":
        return {"sealed_key": None, "public_key": _public_key(public_key)}, Credentials(None)
    return {"sealed_key": None, "public_key": None}, Credentials(None)


def create_source(
    connection: sa.Connection,
    box: SealedBox,
    account_id: str,
    body: dict[str, Any],
    now: int,
) -> tuple[dict[str, Any], Credentials]:
    _check_name(body["name"])
    source_type = get_type(connection, account_id, body["type_id"])
    get_gateway(connection, account_id, body["gateway_id"])  # 404 for another account's
    binding = _check_binding(source_type["transport"], dict(body.get("binding") or {}))
    taken = connection.execute(
        sa.select(data_sources.c.id).where(
            data_sources.c.account_id == account_id, data_sources.c.name == body["name"]
        )
    ).first()
    if taken is not None:
        raise Conflict(f"a data source named {body['name']!r} exists", field="name")
    source_id = new_id("src")
    columns, shown = _new_credentials(
        box, source_id, source_type["auth_mode"], body.get("public_key")
    )
    connection.execute(
        data_sources.insert().values(
            id=source_id,
            account_id=account_id,
            gateway_id=body["gateway_id"],
            type_id=body["type_id"],
            name=body["name"],
            binding=binding,
            enabled=True,
            created_us=now,
            **columns,
        )
    )
    return get_source(connection, account_id, source_id), shown


def _row(connection: sa.Connection, account_id: str, source_id: str) -> Any:
    row = owned_row(connection, data_sources, account_id, source_id, "data source")
    return row


def describe(row: Any) -> dict[str, Any]:
    """A source as the API shows it: never its key."""
    return {
        "id": row.id,
        "name": row.name,
        "type_id": row.type_id,
        "gateway_id": row.gateway_id,
        "binding": row.binding,
        "enabled": row.enabled,
        "has_key": row.sealed_key is not None,
        "public_key": row.public_key,
        "created": format_us(row.created_us),
        "credentials_rotated": format_us(row.credentials_rotated_us),
    }


def get_source(connection: sa.Connection, account_id: str, source_id: str) -> dict[str, Any]:
    return describe(_row(connection, account_id, source_id))


def list_sources(
    connection: sa.Connection, account_id: str, gateway_id: str | None = None
) -> list[dict[str, Any]]:
    statement = sa.select(data_sources).where(data_sources.c.account_id == account_id)
    if gateway_id is not None:
        statement = statement.where(data_sources.c.gateway_id == gateway_id)
    rows = connection.execute(statement.order_by(data_sources.c.created_us)).all()
    return [describe(row) for row in rows]


def update_source(
    connection: sa.Connection,
    account_id: str,
    source_id: str,
    enabled: bool | None,
    binding: dict[str, Any] | None,
) -> dict[str, Any]:
    row = _row(connection, account_id, source_id)
    values: dict[str, Any] = {}
    if enabled is not None:
        values["enabled"] = enabled
    if binding is not None:
        transport = get_type(connection, account_id, row.type_id)["transport"]
        values["binding"] = _check_binding(transport, binding)
    if values:
        connection.execute(
            data_sources.update().where(data_sources.c.id == source_id).values(**values)
        )
    return get_source(connection, account_id, source_id)


def rotate_credentials(
    connection: sa.Connection,
    box: SealedBox,
    account_id: str,
    source_id: str,
    public_key: str | None,
    now: int,
) -> tuple[dict[str, Any], Credentials]:
    row = _row(connection, account_id, source_id)
    auth_mode = get_type(connection, account_id, row.type_id)["auth_mode"]
    if auth_mode == "bound":
        raise Conflict("a bound source has no credentials to rotate")
    columns, shown = _new_credentials(box, source_id, auth_mode, public_key)
    connection.execute(
        data_sources.update()
        .where(data_sources.c.id == source_id)
        .values(credentials_rotated_us=now, **columns)
    )
    forget_counters(connection, source_id)
    return get_source(connection, account_id, source_id), shown


def delete_source(connection: sa.Connection, account_id: str, source_id: str) -> None:
    _row(connection, account_id, source_id)
    forget_counters(connection, source_id)
    connection.execute(data_sources.delete().where(data_sources.c.id == source_id))


def registry_entries(
    connection: sa.Connection, box: SealedBox, account_id: str, gateway_id: str
) -> list[dict[str, Any]]:
    """The gateway's sources with what it needs to admit them: type, binding and key."""
    rows = connection.execute(
        sa.select(data_sources)
        .where(data_sources.c.account_id == account_id, data_sources.c.gateway_id == gateway_id)
        .order_by(data_sources.c.name)
    ).all()
    entries = []
    for row in rows:
        source_type = get_type(connection, account_id, row.type_id)
        key, auth_key = _gateway_keys(box, row, source_type)
        entries.append(
            {
                "name": row.name,
                "enabled": row.enabled,
                "binding": row.binding,
                "type": {
                    key_: source_type[key_]
                    for key_ in ("id", "transport", "auth_mode", "sealed_for", "decoder", "fields")
                },
                "key": key,
                "auth_key": auth_key,
                "public_key": row.public_key,
            }
        )
    return entries


def _gateway_keys(
    box: SealedBox, row: Any, source_type: dict[str, Any]
) -> tuple[str | None, str | None]:
    """(key, auth_key) for the registry: the source key where the gateway opens the
    reports, only the derived authentication key where the cloud alone does."""
    if row.sealed_key is None:
        return None, None
    mode, sealed_for = source_type["auth_mode"], source_type["sealed_for"]
    if mode == "hmac" or (mode == "sealed" and sealed_for == "gateway"):
        return base64.b64encode(box.open(row.sealed_key, row.id)).decode(), None
    if mode == "sealed" and sealed_for == "cloud":
        derived = authentication_key(box.open(row.sealed_key, row.id))
        return None, base64.b64encode(derived).decode()
    return None, None
