"""Daemon fixtures: every database test runs on SQLite and on a real PostgreSQL 15; time is injected."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reconciler.phases.context import LabSession
from tests.daemon.labrepo import LabRepo, lab_files


class FakeClock:
    """A clock tests move by hand; `sleep` advances it and records the delays asked for."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
        self.sleeps: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file in tmp_path, or a fresh database on the test PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def clock() -> FakeClock:
    """The injected clock."""
    return FakeClock()


@pytest.fixture
def lab(tmp_path: Path) -> LabRepo:
    """A lab repository with a work tree and three sim resources on main."""
    repo = LabRepo(tmp_path / "lab", bare=False)
    repo.commit(lab_files(3), "initial lab")
    return repo


@pytest.fixture
def session(lab: LabRepo, db_url: str, clock: FakeClock) -> Iterator[LabSession]:
    """A session on the lab with the injected clock and sleep."""
    s = LabSession.open(lab.path, database_url=db_url, clock=clock, sleep=clock.sleep, actor="daemon",
                        actor_kind="system")
    yield s
    s.close()
