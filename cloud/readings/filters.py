"""Which readings an application asks for: one filter for queries, latest values and aggregates.

The same :class:`ReadingFilter` is meant for the live stream and data
subscriptions too, so it is checked once against the account
(:meth:`ReadingFilter.resolve`) and turned into SQL conditions in one place
(:meth:`ResolvedFilter.conditions`): a stream can never see a reading a
query with the same filter would not.

Checking against the account is what keeps a typo from looking like silence:
a source, type or field the account does not have is refused by name rather
than answered with an empty page.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from edgeward.cloud.datasources.types import BUILTIN
from edgeward.cloud.errors import BadRequest, NotFound
from edgeward.cloud.storage.schema import data_source_types, data_sources, readings
from edgeward.sync.clock import to_us
from edgeward.sync.errors import SpecError
from edgeward.sync.source_types import parse_type_spec
from edgeward.sync.source_types.checks import field_names, with_standard_fields

# At most this many sources named in one request (each is a bound parameter).
MAX_SOURCES = 1000


@dataclass(frozen=True, slots=True)
class ReadingFilter:
    """Readings of ``sources`` (none: every source of the account) of ``types``, from
    ``gateway_id``, with ``since <= time < until``; ``fields`` narrows each reading's values."""

    sources: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    gateway_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    fields: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name, moment in (("since", self.since), ("until", self.until)):
            if moment is not None and moment.tzinfo is None:
                raise BadRequest(
                    f"{name} needs a UTC offset, such as 2026-01-01T00:00:00Z", field=name
                )
        if self.since is not None and self.until is not None and self.until < self.since:
            raise BadRequest("until is before since", field="until")
        if len(self.sources) > MAX_SOURCES:
            raise BadRequest(f"at most {MAX_SOURCES} sources in one request", field="source")

    def digest(self) -> str:
        """What identifies the position space of a cursor: everything but ``fields``,
        which narrows values without moving rows."""
        document = [
            sorted(set(self.sources)),
            sorted(set(self.types)),
            self.gateway_id,
            None if self.since is None else to_us(self.since),
            None if self.until is None else to_us(self.until),
        ]
        return hashlib.sha256(json.dumps(document).encode()).hexdigest()[:32]

    def resolve(self, connection: sa.Connection, account_id: str) -> ResolvedFilter:
        """Check every named source, type and field against the account."""
        sources = sorted(set(self.sources))
        if sources:
            known = dict(
                connection.execute(
                    sa.select(data_sources.c.name, data_sources.c.type_id).where(
                        data_sources.c.account_id == account_id,
                        name_in(data_sources.c.name, sources, connection.dialect.name),
                    )
                ).all()
            )
            unknown = [name for name in sources if name not in known]
            if unknown:
                raise NotFound(f"no such data source: {', '.join(unknown)}", field="source")
        types = sorted(set(self.types))
        if types:
            _check_types(connection, account_id, types)
        if sources:
            matched_types = set(known.values())
            if types:
                matched_types &= set(types)
        else:
            matched_types = set(types) or set(_types_in_use(connection, account_id))
        if self.fields:
            offered = set().union(*(_fields_of(connection, account_id, t) for t in matched_types))
            missing = [name for name in dict.fromkeys(self.fields) if name not in offered]
            if missing:
                raise BadRequest(
                    f"no matched data-source type has the field(s): {', '.join(missing)}",
                    field="fields",
                )
        dialect = connection.dialect.name
        return ResolvedFilter(self, account_id, tuple(sources), tuple(types), dialect)


@dataclass(frozen=True, slots=True)
class ResolvedFilter:
    """A filter checked against its account: it only ever selects that account's rows."""

    filter: ReadingFilter
    account_id: str
    sources: tuple[str, ...]
    types: tuple[str, ...]
    dialect: str = "sqlite"

    def conditions(
        self, table: sa.FromClause = readings, by_source: bool = True
    ) -> list[sa.ColumnElement[bool]]:
        """WHERE conditions on ``table`` (readings or an alias of it); without the
        source and type ones when ``by_source`` is False (the caller picks sources)."""
        wanted = self.filter
        where: list[sa.ColumnElement[bool]] = [table.c.account_id == self.account_id]
        if by_source and self.sources:
            where.append(name_in(table.c.source, self.sources, self.dialect))
        if by_source and self.types:
            where.append(table.c.source.in_(self.type_sources()))
        if wanted.gateway_id is not None:
            where.append(table.c.gateway_id == wanted.gateway_id)
        if wanted.since is not None:
            where.append(table.c.time_us >= to_us(wanted.since))
        if wanted.until is not None:
            where.append(table.c.time_us < to_us(wanted.until))
        return where

    def type_sources(self) -> sa.Select[tuple[str]]:
        """The names of the account's sources of the asked types, as a subquery."""
        return sa.select(data_sources.c.name).where(
            data_sources.c.account_id == self.account_id,
            data_sources.c.type_id.in_(self.types),
        )

    def source_conditions(self) -> list[sa.ColumnElement[bool]]:
        """WHERE conditions on ``data_sources``: the account's registered sources it covers."""
        table = data_sources.c
        where: list[sa.ColumnElement[bool]] = [table.account_id == self.account_id]
        if self.sources:
            where.append(name_in(table.name, self.sources, self.dialect))
        if self.types:
            where.append(table.type_id.in_(self.types))
        if self.filter.gateway_id is not None:
            where.append(table.gateway_id == self.filter.gateway_id)
        return where

    def registered_sources(self, connection: sa.Connection) -> list[str]:
        """The names of the account's registered sources the filter covers, sorted."""
        statement = sa.select(data_sources.c.name).where(*self.source_conditions())
        return list(connection.execute(statement.order_by(data_sources.c.name)).scalars())

    def narrow(self, values: dict[str, Any]) -> dict[str, Any]:
        """``values`` restricted to the asked fields (all of them when none was asked)."""
        if not self.filter.fields:
            return values
        return {name: values[name] for name in self.filter.fields if name in values}


def name_in(
    column: sa.ColumnElement[str], names: Sequence[str], dialect: str
) -> sa.ColumnElement[bool]:
    """``column IN names``; on PostgreSQL as ``= ANY(array)``, one parameter however many
    names (up to :data:`MAX_SOURCES`): rendering and planning a thousand-parameter
    ``IN`` list cost more than the query it filters."""
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(None, list(names), type_=ARRAY(sa.String)))
    return column.in_(names)


def _types_in_use(connection: sa.Connection, account_id: str) -> Iterable[str]:
    return connection.execute(
        sa.select(data_sources.c.type_id).where(data_sources.c.account_id == account_id).distinct()
    ).scalars()


def _check_types(connection: sa.Connection, account_id: str, types: list[str]) -> None:
    own = set(
        connection.execute(
            sa.select(data_source_types.c.id).where(
                data_source_types.c.account_id == account_id,
                data_source_types.c.id.in_(types),
            )
        ).scalars()
    )
    unknown = [t for t in types if t not in own and t not in BUILTIN]
    if unknown:
        raise NotFound(f"no such data-source type: {', '.join(unknown)}", field="type")


def _fields_of(connection: sa.Connection, account_id: str, type_id: str) -> frozenset[str]:
    if type_id in BUILTIN:
        return _builtin_fields(type_id)
    spec = connection.execute(
        sa.select(data_source_types.c.spec).where(
            data_source_types.c.account_id == account_id, data_source_types.c.id == type_id
        )
    ).scalar_one_or_none()
    return frozenset() if spec is None else _spec_fields(json.dumps(spec, sort_keys=True))


@lru_cache(maxsize=16)
def _builtin_fields(type_id: str) -> frozenset[str]:
    return _spec_fields(json.dumps(BUILTIN[type_id]["spec"], sort_keys=True))


@lru_cache(maxsize=256)
def _spec_fields(document: str) -> frozenset[str]:
    """The value names of a stored spec; one kept broken by migration 0015 has none."""
    try:
        return frozenset(field_names(with_standard_fields(parse_type_spec(json.loads(document)))))
    except SpecError:
        return frozenset()
