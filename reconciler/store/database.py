"""Opening the lab's database: SQLite at <lab>/.homeport/state.db by default, PostgreSQL by URL."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.orm import Session, sessionmaker

from reconciler.assets import asset_dir

if TYPE_CHECKING:  # alembic is imported only when a schema must change (a current one is checked by SQL)
    from alembic.config import Config

DATABASE_URL_ENV = "HOMEPORT_DATABASE_URL"
DATABASE_URL_FILE_ENV = "HOMEPORT_DATABASE_URL_FILE"  # a file holding the URL (Compose/Kubernetes secrets)


class DatabaseError(Exception):
    """The database cannot be opened or migrated; the message says why and what to do."""


def database_url_from_env(env: Mapping[str, str] | None = None) -> str | None:
    """HOMEPORT_DATABASE_URL when set and not empty, else the contents of the file HOMEPORT_DATABASE_URL_FILE
    names, else None. The URL (it may hold a password) is never put into an error message."""
    env = os.environ if env is None else env
    url = env.get(DATABASE_URL_ENV)
    if url:
        return normalise_url(url)
    path = env.get(DATABASE_URL_FILE_ENV)
    if not path:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise DatabaseError(f"{DATABASE_URL_FILE_ENV}: cannot read {path}: {exc.strerror}") from None
    if not text:
        raise DatabaseError(f"{DATABASE_URL_FILE_ENV}: {path} is empty; write the database URL into it")
    return normalise_url(text)


def default_database_url(lab_dir: Path) -> str:
    """The URL from the environment (database_url_from_env), else SQLite in the lab's .homeport folder."""
    return database_url_from_env() or f"sqlite:///{(lab_dir / '.homeport' / 'state.db').resolve()}"


def normalise_url(url: str) -> str:
    """Route plain postgresql:// URLs to psycopg 3."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at homeport's migrations."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(asset_dir("migrations")))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


@dataclass
class Database:
    """An engine and its session factory."""

    engine: Engine
    sessions: sessionmaker[Session]
    url: str

    @property
    def is_postgres(self) -> bool:
        """True on PostgreSQL."""
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on error."""
        with self.sessions.begin() as session:
            yield session

    def upgrade(self, revision: str = "head") -> None:
        """Apply migrations up to revision."""
        from alembic import command

        cfg = alembic_config(self.url)
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)

    def downgrade(self, revision: str) -> None:
        """Revert migrations down to revision ('base' empties the schema)."""
        from alembic import command

        cfg = alembic_config(self.url)
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, revision)

    def current_revision(self) -> str | None:
        """The schema's migration revision, None when empty (a plain query of alembic_version)."""
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        if len(rows) > 1:
            raise DatabaseError(f"the schema has {len(rows)} migration heads ({', '.join(sorted(rows))}); expected one")
        return rows[0] if rows else None

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    cursor = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _private_sqlite_file(path: Path) -> None:
    """The SQLite file 0600 (created so, before SQLite opens it; its -wal and -shm files follow its mode)."""
    if str(path) in ("", ":memory:"):
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        if not path.exists():
            # Only a file no connection has open: closing any descriptor of an open SQLite file drops every
            # POSIX lock this process holds on it (fcntl semantics), so another process could write under a
            # reader or writer here and corrupt the database ("database disk image is malformed").
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR | getattr(os, "O_NOFOLLOW", 0), 0o600)
            os.close(fd)
        for suffix in ("", "-wal", "-shm"):
            candidate = path.with_name(path.name + suffix)
            if candidate.exists() and candidate.stat().st_mode & 0o077:
                candidate.chmod(0o600)
    except OSError:
        pass  # a read-only or foreign file, or created meanwhile: SQLite's own error says what is wrong


def open_database(url: str, *, migrate: bool = True) -> Database:
    """Open (and by default migrate to head) the database at url."""
    url = normalise_url(url)
    if url.startswith("sqlite:///"):
        _private_sqlite_file(Path(url.removeprefix("sqlite:///")))
    try:
        engine = create_engine(url, future=True, pool_pre_ping=not url.startswith("sqlite"))
    except Exception as exc:  # a bad URL or a missing driver
        raise DatabaseError(f"cannot open database {redact_url(url)}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    db = Database(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False), url=url)
    if migrate:
        try:
            if db.current_revision() != head_revision():
                db.upgrade("head")
        except Exception as exc:
            raise DatabaseError(f"cannot migrate database {redact_url(url)}: {exc}") from exc
    return db


_REVISION = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*['\"]?([\w.-]+|None)['\"]?\s*$", re.M)


@functools.cache
def head_revision() -> str | None:
    """The newest migration's revision id, read from the migration files without importing alembic.

    Falls back to alembic's own reading when the files do not form one plain chain.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in sorted((asset_dir("migrations") / "versions").glob("*.py")):
        fields = dict(_REVISION.findall(script.read_text(encoding="utf-8")))
        if "revision" not in fields:
            continue
        revisions.add(fields["revision"])
        if fields.get("down_revision", "None") != "None":
            parents.add(fields["down_revision"])
    heads = revisions - parents
    if len(heads) == 1 and len(parents) == len(revisions) - 1:
        return heads.pop()
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def redact_url(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url
