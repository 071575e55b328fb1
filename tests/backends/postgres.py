"""A real PostgreSQL 15 for tests: a throwaway cluster in a temp dir, or the server in HOMEPORT_TEST_PG_URL.

The cluster is started once per test session (initdb + pg_ctl, run as the `postgres` user when we are
root, since PostgreSQL refuses to run as root), listens on a Unix socket in its temp dir and on
127.0.0.1 at a free port with trust auth, and is stopped and deleted at the end of the session.
Each test that asks for `pg_url` gets its own fresh database, dropped afterwards.

Missing PostgreSQL binaries fail the test (never skip): run `make test-deps`.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import URL, make_url

TEST_PG_URL_ENV = "HOMEPORT_TEST_PG_URL"
PG_BIN_ENV = "HOMEPORT_TEST_PG_BIN"
DEFAULT_PG_BIN = Path("/usr/lib/postgresql/15/bin")
CLUSTER_USER = "postgres"
FIX_HINT = "run `make test-deps` (it runs scripts/install-test-deps.sh, which installs postgresql-15)"


class PostgresUnavailable(Exception):
    """PostgreSQL cannot be started or reached; the message says what to do."""


@dataclass
class PostgresServer:
    """A reachable PostgreSQL server on which tests may create and drop databases."""

    url: URL  # SQLAlchemy URL (postgresql+psycopg) of the maintenance database
    created: list[str] = field(default_factory=list)

    def url_for(self, database: str) -> str:
        """The postgresql+psycopg:// URL of a database on this server, password included."""
        return self.url.set(drivername="postgresql+psycopg", database=database).render_as_string(
            hide_password=False
        )

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(_libpq_conninfo(self.url), autocommit=True, connect_timeout=10)

    def create_database(self, prefix: str = "hp_test") -> str:
        """Create an empty database with a unique name and return its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with self._admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.created.append(name)
        return self.url_for(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by create_database, closing whatever still uses it."""
        name = make_url(url).database
        if not name:
            raise ValueError(f"no database in URL {url!r}")
        with self._admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if name in self.created:
            self.created.remove(name)


def _libpq_conninfo(url: URL) -> str:
    """A libpq connection URI for a SQLAlchemy URL (drops the +driver part)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def pg_bin_dir() -> Path:
    """Where initdb and pg_ctl live (HOMEPORT_TEST_PG_BIN overrides the Debian path)."""
    return Path(os.environ.get(PG_BIN_ENV) or DEFAULT_PG_BIN)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _cluster_parent_dir() -> str:
    """The temp folder to put the cluster in: one the postgres user can reach, with a short path.

    The socket path must stay under 107 bytes, and a TMPDIR inside root's home is closed to postgres.
    """
    candidate = Path(tempfile.gettempdir())
    reachable = all(os.stat(part).st_mode & 0o001 for part in (candidate, *candidate.parents))
    return str(candidate) if reachable and len(str(candidate)) < 40 else "/tmp"


class ThrowawayCluster:
    """A PostgreSQL cluster living in a temp dir, for one test session."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        for tool in ("initdb", "pg_ctl", "postgres"):
            if not (bin_dir / tool).is_file():
                raise PostgresUnavailable(
                    f"PostgreSQL 15 is not installed ({bin_dir / tool} missing): {FIX_HINT}"
                )
        self._run_as: pwd.struct_passwd | None = None
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            try:
                self._run_as = pwd.getpwnam(CLUSTER_USER)
            except KeyError:
                raise PostgresUnavailable(
                    f"running as root but there is no '{CLUSTER_USER}' user to run PostgreSQL as: {FIX_HINT}"
                ) from None
        self.root = Path(tempfile.mkdtemp(prefix="homeport-pg-", dir=_cluster_parent_dir()))
        if self._run_as is not None:
            os.chown(self.root, self._run_as.pw_uid, self._run_as.pw_gid)
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = 0
        self.started = False

    def _pg(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        kwargs: dict[str, object] = {}
        env = {**os.environ, "LC_ALL": "C.UTF-8"}
        if self._run_as is not None:
            kwargs = {"user": self._run_as.pw_uid, "group": self._run_as.pw_gid, "extra_groups": []}
            env["HOME"] = str(self.root)
        return subprocess.run(  # type: ignore[call-overload, no-any-return]
            cmd, capture_output=True, text=True, cwd=self.root, env=env, timeout=120, check=False, **kwargs
        )

    def start(self) -> PostgresServer:
        """initdb, then start on a free port (retrying if another process grabbed it first)."""
        done = self._pg(
            "initdb", "-D", str(self.data), "-U", CLUSTER_USER, "--auth=trust", "--encoding=UTF8",
            "--locale=C.UTF-8", "--no-sync", "--no-instructions",
        )
        if done.returncode != 0:
            raise PostgresUnavailable(f"initdb failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        last = ""
        for _attempt in range(5):
            self.port = free_port()
            options = (
                f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            done = self._pg(
                "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start"
            )
            if done.returncode == 0:
                self.started = True
                return PostgresServer(
                    url=URL.create("postgresql+psycopg", username=CLUSTER_USER, host="127.0.0.1",
                                   port=self.port, database="postgres")
                )
            last = f"{done.stdout}{done.stderr}\n{self.log.read_text() if self.log.exists() else ''}"
            if "could not bind" not in last and "already in use" not in last:
                break
        raise PostgresUnavailable(f"pg_ctl start failed:\n{last}")

    def stop(self) -> None:
        """Stop the server and delete its files."""
        try:
            if self.started:
                self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "60", "stop")
                self.started = False
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _external_server(url: str) -> PostgresServer:
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        raise PostgresUnavailable(f"{TEST_PG_URL_ENV} must be a postgresql:// URL, got {parsed.drivername}://")
    maintenance = parsed.set(drivername="postgresql+psycopg", database=parsed.database or "postgres")
    server = PostgresServer(url=maintenance)
    try:
        with server._admin() as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        shown = parsed.render_as_string(hide_password=True)
        raise PostgresUnavailable(f"cannot reach the server in {TEST_PG_URL_ENV} ({shown}): {exc}") from exc
    return server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """A running PostgreSQL 15 for the session: HOMEPORT_TEST_PG_URL's server, else a throwaway cluster."""
    external = os.environ.get(TEST_PG_URL_ENV)
    if external:
        try:
            server = _external_server(external)
        except PostgresUnavailable as exc:
            pytest.fail(str(exc), pytrace=False)
        yield server
        for name in list(server.created):
            server.drop_database(server.url_for(name))
        return
    try:
        cluster = ThrowawayCluster(pg_bin_dir())
    except PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        try:
            server = cluster.start()
        except PostgresUnavailable as exc:
            pytest.fail(str(exc), pytrace=False)
        yield server
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database for this test: its postgresql+psycopg:// URL."""
    url = pg_server.create_database()
    yield url
    pg_server.drop_database(url)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the PostgreSQL server `postgres`, so `-m postgres` selects them."""
    for item in items:
        if "pg_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
