"""The migrations build exactly the schema the code uses, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

from edgeward.cloud.storage.database import MIGRATIONS, Database, normalize_url
from edgeward.cloud.storage.schema import metadata


def test_migrations_match_schema(database_url: str) -> None:
    database = Database(database_url)
    try:
        database.migrate()
        database.migrate()  # every start migrates; the second run is a no-op
        with database.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), metadata)
    finally:
        database.dispose()
    assert differences == []


def test_url_normalization() -> None:
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"
    assert normalize_url("relative.db").startswith("sqlite:////")


def migrate_to(database: Database, revision: str, *, down: bool = False) -> None:
    """Alembic to ``revision``, on the service's own connection, as Database.migrate() does."""
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def test_security_events_gain_the_why_and_keep_their_rows(database_url: str) -> None:
    """0014 adds nullable field/value/detail; rows stored before it read as NULL, and
    going back drops the columns, not the rows."""
    database = Database(database_url)
    try:
        migrate_to(database, "0013")
        with database.engine.begin() as connection:
            connection.execute(
                sa.text("INSERT INTO accounts (id, name, created_us) VALUES ('acc_1', 'a', 0)")
            )
            connection.execute(
                sa.text(
                    "INSERT INTO security_events (account_id, gateway_id, source, reason, "
                    "window_start_us, count, first_us, last_us, reported_by) "
                    "VALUES ('acc_1', 'gw_1', 'meter-9', 'unknown-source', 0, 4, 1, 2, 'gateway')"
                )
            )
        migrate_to(database, "0014")
        with database.engine.connect() as connection:
            stored = connection.execute(
                sa.text("SELECT count, field, value, detail FROM security_events")
            ).one()
            columns = {c["name"] for c in sa.inspect(connection).get_columns("security_events")}
        assert tuple(stored) == (4, None, None, None)
        assert {"field", "value", "detail"} <= columns
        migrate_to(database, "0013", down=True)
        with database.engine.connect() as connection:
            columns = {c["name"] for c in sa.inspect(connection).get_columns("security_events")}
            (count,) = connection.execute(sa.text("SELECT count FROM security_events")).one()
        assert not {"field", "value", "detail"} & columns and count == 4
    finally:
        database.dispose()


def test_types_stored_in_the_first_language_are_rewritten_with_their_meaning(
    database_url: str,
) -> None:
    """0015 rewrites types stored before the type language (word/byte orders, serial
    field lists, MQTT key maps); one it can't rewrite is kept as it was."""
    old = {
        "transport": "modbus",
        "auth_mode": "bound",
        "sealed_for": None,
        "decoder": {
            "registers": [{"name": "e", "address": 6, "type": "uint32", "word_order": "little"}]
        },
        "fields": {"e": {"unit": "Wh", "min": 0, "max": None}},
    }
    broken = {"transport": "serial", "auth_mode": "bound", "decoder": {"fields": ["1 bad"]}}
    database = Database(database_url)
    try:
        migrate_to(database, "0014")
        with database.engine.begin() as connection:
            connection.execute(
                sa.text("INSERT INTO accounts (id, name, created_us) VALUES ('acc_1', 'a', 0)")
            )
            for type_id, spec in (("dst_old", old), ("dst_broken", broken)):
                connection.execute(
                    sa.text(
                        "INSERT INTO data_source_types (id, account_id, name, spec, created_us) "
                        "VALUES (:id, 'acc_1', 't', :spec, 0)"
                    ),
                    {"id": type_id, "spec": json.dumps(spec)},
                )
        migrate_to(database, "0015")
        with database.engine.connect() as connection:
            rows = dict(connection.execute(sa.text("SELECT id, spec FROM data_source_types")).all())
    finally:
        database.dispose()
    specs = {k: json.loads(v) if isinstance(v, str) else v for k, v in rows.items()}
    (register,) = specs["dst_old"]["decoder"]["registers"]
    assert register["order"] == "CDAB" and "word_order" not in register
    assert specs["dst_old"]["decoder"]["requests"]["max_registers"] == 125
    assert specs["dst_broken"] == broken
