"""Data-source types: the account's own, and the built-in ones every account can use."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from edgeward.cloud.errors import Conflict, InvalidRequest
from edgeward.cloud.identity.principal import new_id
from edgeward.cloud.storage.owned import owned_row
from edgeward.cloud.storage.schema import data_source_types, data_sources
from edgeward.sync.clock import format_us
from edgeward.sync.errors import SpecError
from edgeward.sync.source_types import builtin
from edgeward.sync.source_types.builtin import BUILTIN_PREFIX
from edgeward.sync.source_types.checks import validate_type_spec

# Built-in types are validated once, at import: a broken one stops the cloud at start.
BUILTIN: dict[str, dict[str, Any]] = {
    type_id: {"name": name, "spec": validate_type_spec(document)}
    for type_id, (name, document) in builtin.BUILTIN.items()
}


def _described(
    type_id: str, name: str, spec: dict[str, Any], created_us: int | None
) -> dict[str, Any]:
    return {
        "id": type_id,
        "name": name,
        "builtin": type_id.startswith(BUILTIN_PREFIX),
        "created": format_us(created_us),
        **spec,
    }


def create_type(
    connection: sa.Connection, account_id: str, name: str, spec: dict[str, Any], now: int
) -> dict[str, Any]:
    try:
        checked = validate_type_spec(spec)
    except SpecError as exc:
        where = f"spec.{exc.path}" if exc.path else "spec"
        raise InvalidRequest(f"{where}: {exc.message}", field=where) from exc
    type_id = new_id("dst")
    connection.execute(
        data_source_types.insert().values(
            id=type_id, account_id=account_id, name=name, spec=checked, created_us=now
        )
    )
    return _described(type_id, name, checked, now)


def get_type(connection: sa.Connection, account_id: str, type_id: str) -> dict[str, Any]:
    if type_id in BUILTIN:
        builtin = BUILTIN[type_id]
        return _described(type_id, builtin["name"], builtin["spec"], None)
    row = owned_row(connection, data_source_types, account_id, type_id, "data-source type")
    return _described(row.id, row.name, row.spec, row.created_us)


def list_types(connection: sa.Connection, account_id: str) -> list[dict[str, Any]]:
    own = connection.execute(
        sa.select(data_source_types)
        .where(data_source_types.c.account_id == account_id)
        .order_by(data_source_types.c.created_us)
    ).all()
    return [
        *(_described(type_id, b["name"], b["spec"], None) for type_id, b in BUILTIN.items()),
        *(_described(row.id, row.name, row.spec, row.created_us) for row in own),
    ]


def delete_type(connection: sa.Connection, account_id: str, type_id: str) -> None:
    if type_id in BUILTIN:
        raise Conflict("built-in types can't be deleted")
    get_type(connection, account_id, type_id)
    in_use = connection.execute(
        sa.select(sa.func.count()).where(
            data_sources.c.account_id == account_id, data_sources.c.type_id == type_id
        )
    ).scalar_one()
    if in_use:
        raise Conflict(f"{in_use} data source(s) still use this type")
    connection.execute(data_source_types.delete().where(data_source_types.c.id == type_id))
