"""On PostgreSQL every JSON column of the tables is a real JSONB column after migrating."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from reconciler.store.database import Database, open_database
from reconciler.store.tables import Base, ReconcileRunRow


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[Database]:
    """A PostgreSQL database migrated to head by open_database."""
    database = open_database(pg_url)
    yield database
    database.dispose()


def json_columns_in_tables() -> set[tuple[str, str]]:
    """(table, column) of every column tables.py declares as JSON."""
    return {
        (table.name, column.name)
        for table in Base.metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, sa.JSON)
        or (isinstance(column.type, sa.types.TypeDecorator) and isinstance(column.type.impl_instance, sa.JSON))
    }


def column_types_in_database(db: Database) -> dict[tuple[str, str], str]:
    """(table, column) -> the type PostgreSQL itself reports (pg_attribute, format_type)."""
    query = sa.text(
        "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) "
        "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped"
    )
    with db.engine.connect() as conn:
        return {(table, column): kind for table, column, kind in conn.execute(query)}


def test_json_columns_are_jsonb(pg_db: Database) -> None:
    expected = json_columns_in_tables()
    assert len(expected) > 20  # the tables hold many JSON columns; an empty set would prove nothing
    types = column_types_in_database(pg_db)
    assert {key: types.get(key) for key in expected} == dict.fromkeys(expected, "jsonb")
    assert [key for key, kind in types.items() if kind == "json"] == []


def test_information_schema_agrees(pg_db: Database) -> None:
    with pg_db.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT table_name, column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = current_schema() AND data_type IN ('json', 'jsonb')")
        ).all()
    assert {(table, column) for table, column, _ in rows} == json_columns_in_tables()
    assert {kind for _, _, kind in rows} == {"jsonb"}


def test_jsonb_operators_work_on_stored_rows(pg_db: Database) -> None:
    with pg_db.session() as session:
        session.add(ReconcileRunRow(id="run1", lab="home", summary={"changes": {"create": 2}, "ok": True}))
        session.add(ReconcileRunRow(id="run2", lab="home", summary={"changes": {"create": 0}}))
    with pg_db.engine.connect() as conn:
        found = conn.execute(
            sa.text("SELECT id FROM reconcile_runs WHERE summary @> CAST(:probe AS jsonb)"),
            {"probe": '{"changes": {"create": 2}}'},
        ).scalars().all()
        depth = conn.execute(
            sa.text("SELECT summary #>> '{changes,create}' FROM reconcile_runs WHERE id = 'run2'")
        ).scalar_one()
    assert found == ["run1"]
    assert depth == "0"
