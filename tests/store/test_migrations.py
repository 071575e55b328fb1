"""Alembic migrations: up to head, down to base and back, step by step, on SQLite and PostgreSQL.

And the guard that keeps `reconciler/store/tables.py` and `migrations/` in step: the autogenerate diff
between the tables and the migrated schema must be empty, so a table change without a migration fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from reconciler.store.database import Database, alembic_config, open_database
from reconciler.store.tables import Base

VERSION_TABLE = "alembic_version"


@pytest.fixture
def db(store_url: str) -> Iterator[Database]:
    """The store_url database, not yet migrated."""
    database = open_database(store_url, migrate=False)
    yield database
    database.dispose()


def revisions_base_to_head(url: str) -> list[str]:
    """Every migration revision id, oldest first (a single linear history is expected)."""
    script = ScriptDirectory.from_config(alembic_config(url))
    assert len(script.get_heads()) == 1, f"migrations have several heads: {script.get_heads()}"
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def table_names(db: Database) -> set[str]:
    """Tables now present in the database."""
    return set(sa.inspect(db.engine).get_table_names())


def schema_diff(db: Database, metadata: sa.MetaData) -> list[Any]:
    """Alembic's autogenerate diff between metadata and the database's schema (empty: in step)."""
    with db.engine.connect() as conn:
        options = {"compare_type": True, "compare_server_default": True}
        context = MigrationContext.configure(conn, opts=options)
        return list(compare_metadata(context, metadata))


def test_upgrade_to_head_creates_every_table(db: Database) -> None:
    db.upgrade("head")
    assert db.current_revision() == revisions_base_to_head(db.url)[-1]
    assert table_names(db) == set(Base.metadata.tables) | {VERSION_TABLE}


def test_downgrade_to_base_and_back(db: Database) -> None:
    db.upgrade("head")
    with db.session() as session:
        session.execute(sa.text("INSERT INTO reconcile_runs (id, lab, trigger, mode, status, started_at, "
                                "phase_timings, summary) VALUES ('r1', 'lab', 'manual', 'apply', 'ok', "
                                "CURRENT_TIMESTAMP, '{}', '{}')"))
    db.downgrade("base")
    assert db.current_revision() is None
    assert table_names(db) <= {VERSION_TABLE}
    db.upgrade("head")
    assert table_names(db) == set(Base.metadata.tables) | {VERSION_TABLE}
    with db.session() as session:
        assert session.execute(sa.text("SELECT count(*) FROM reconcile_runs")).scalar_one() == 0


def test_each_migration_steps_up_and_down(db: Database) -> None:
    revisions = revisions_base_to_head(db.url)
    for revision in revisions:
        db.upgrade(revision)
        assert db.current_revision() == revision
    for index in range(len(revisions) - 1, -1, -1):
        target = revisions[index - 1] if index > 0 else "base"
        db.downgrade(target)
        assert db.current_revision() == (None if target == "base" else target)
    db.upgrade("head")
    assert db.current_revision() == revisions[-1]


def test_open_database_migrates_to_head(store_url: str) -> None:
    database = open_database(store_url)
    try:
        assert database.current_revision() == revisions_base_to_head(store_url)[-1]
        assert table_names(database) == set(Base.metadata.tables) | {VERSION_TABLE}
    finally:
        database.dispose()


def test_tables_match_migrations(db: Database) -> None:
    db.upgrade("head")
    assert schema_diff(db, Base.metadata) == [], (
        "reconciler/store/tables.py and migrations/ disagree: write a migration "
        "(alembic revision --autogenerate) for the table change"
    )


def test_schema_guard_catches_a_table_change_without_migration(db: Database) -> None:
    db.upgrade("head")
    changed = sa.MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["reconcile_runs"].append_column(sa.Column("unmigrated", sa.String(20), nullable=True))
    diff = schema_diff(db, changed)
    assert [(entry[0], entry[2], entry[3].name) for entry in diff] == [
        ("add_column", "reconcile_runs", "unmigrated")
    ]
