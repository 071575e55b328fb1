"""The lab service: one open lab (repository, database, providers) for a door to call into.

A door opens a `LabService` once (per command, per MCP server, per daemon) and passes it to the query
and command functions of `reconciler.service`. It holds the desired state of main cached per commit,
a re-entrant lock for doors that call from several threads (the MCP SDK runs tools on worker threads;
pygit2 repositories and provider clients are not thread-safe), and the lab's run lock.
"""

from __future__ import annotations

import getpass
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from reconciler.models.desired import DesiredState
from reconciler.models.lab import ProviderConfig
from reconciler.models.progress import ProgressCallback
from reconciler.phases.context import LabSession
from reconciler.phases.fetch import fetch
from reconciler.phases.load import load, load_main
from reconciler.phases.observe import Observation, observe_all
from reconciler.proposals.preview import PreviewMemo
from reconciler.providers.base import Provider
from reconciler.render.chart import ChartLibrary
from reconciler.service.errors import ServiceError, engine_errors
from reconciler.source.gitrepo import open_repo
from reconciler.source.loader import LoadCache, lab_name_at
from reconciler.source.remote import LabMirror
from reconciler.store.database import DATABASE_URL_ENV, database_url_from_env
from reconciler.store.locks import lab_lock

__all__ = ["DATABASE_URL_ENV", "LabMirror", "LabService", "check_lab_dir", "database_url_from_env", "local_user",
           "open_mirror"]

T = TypeVar("T")


def local_user() -> str:
    """The operating-system user running the door ('unknown' in containers without one)."""
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return "unknown"


class LabService:
    """One open lab. Not thread-safe by itself: doors calling from several threads use `run` (or `lock`)."""

    def __init__(self, session: LabSession) -> None:
        self.session = session
        self.lock = threading.RLock()
        self._main: DesiredState | None = None
        self._recent: tuple[float, str, Observation] | None = None
        self.preview_memo = PreviewMemo()

    @contextmanager
    def reporting(self, callback: ProgressCallback | None) -> Iterator[None]:
        """While the block runs, long steps (apply, render, validate) tell callback how far they are."""
        previous, self.session.progress = self.session.progress, callback
        try:
            yield
        finally:
            self.session.progress = previous

    @classmethod
    def open(
        cls,
        lab_dir: Path,
        *,
        database_url: str | None = None,
        actor: str = "homeport",
        actor_kind: str = "human",
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] | None = None,
        memory_cache: bool = False,
    ) -> LabService:
        """Open the lab at lab_dir (a checkout or a bare mirror) and its database, migrating it if needed.

        memory_cache: keep parsed files in memory only (long-lived servers that load many throwaway
        proposal commits), instead of the on-disk parse cache under `.homeport/`.
        """
        with engine_errors():
            session = LabSession.open(lab_dir, database_url=database_url, clock=clock, sleep=sleep, actor=actor,
                                      actor_kind=actor_kind)
        if memory_cache:
            session.cache = LoadCache()
        return cls(session)

    @classmethod
    def open_for_cli(cls, lab_dir: Path, *, command: str = "cli") -> LabService:
        """Open the lab for a person at a terminal: the actor is `cli:<user>`."""
        return cls.open(lab_dir, actor=f"{command}:{local_user()}", actor_kind="human")

    # -- identity of the lab -----------------------------------------------------------------------------

    @property
    def lab_dir(self) -> Path:
        """The lab's repository folder."""
        return self.session.lab_dir

    @property
    def actor(self) -> str:
        """Who this door acts as (audit rows, proposal authors)."""
        return self.session.actor

    @property
    def actor_kind(self) -> str:
        """human | agent | system."""
        return self.session.actor_kind

    @property
    def charts(self) -> ChartLibrary:
        """The charts of main's revision: homeport's own plus the lab's `charts/` folder."""
        self.state()
        return self.session.charts

    def clock(self) -> datetime:
        """Now, from the session's (injectable) clock."""
        return self.session.clock()

    @property
    def state_dir(self) -> Path:
        """<lab>/.homeport: lock files, provider work folders, caches (never committed)."""
        return self.session.state_dir

    def state(self, ref: str | None = None) -> DesiredState:
        """The validated desired state at main (or at ref); cached per commit, so repeated calls are cheap.

        main's state is also held here: proposals load throwaway commits that would otherwise push it out
        of the session's small cache of resolved states.
        """
        with engine_errors():
            if ref is not None:
                return load(self.session, fetch(self.session, ref))
            state = load_main(self.session)
            if self._main is not None and self._main.revision == state.revision:
                return self._main
            self._main = state
            return state

    @property
    def lab_name(self) -> str:
        """The lab's name from main's homeport.yaml; when main stopped loading (a broken commit), the name it
        had when it last loaded in this service, so records stay readable. Invalid when it never loaded."""
        try:
            return self.state().lab_name
        except ServiceError:
            if self._main is not None:
                return self._main.lab_name
            raise

    def lab_name_or_folder(self) -> str:
        """The lab's name, even when main does not load (homeport.yaml's name alone, else the folder's name)."""
        try:
            return self.lab_name
        except Exception:  # an invalid lab keeps the name its homeport.yaml gives, else its folder's
            return main_lab_name(self.session) or self.lab_dir.name

    # -- live state --------------------------------------------------------------------------------------

    def observe(self, state: DesiredState | None = None, only: set[str] | None = None) -> Observation:
        """Live inventories of the enabled providers (or only those named); unavailable ones say why."""
        return observe_all(self.session, state or self.state(), only)

    def provider(self, lab: str, name: str, config: ProviderConfig) -> Provider:
        """The provider client called name (built once per service, rebuilt when its configuration changes)."""
        with engine_errors():
            return self.session.provider(lab, name, config)

    def recent_observation(self, state: DesiredState, max_age: float = 5.0) -> Observation:
        """An observation of all providers at most max_age seconds old (proposal previews in a row)."""
        key = state.lab.spec.model_dump_json(include={"providers"})
        now = time.monotonic()
        if self._recent is not None and self._recent[1] == key and now - self._recent[0] <= max_age:
            return self._recent[2]
        observation = self.observe(state)
        self._recent = (now, key, observation)
        return observation

    # -- concurrency -------------------------------------------------------------------------------------

    def run(self, fn: Callable[[], T]) -> T:
        """Run fn holding this service's lock (doors that call from several threads)."""
        with self.lock:
            return fn()

    @contextmanager
    def run_lock(self) -> Iterator[None]:
        """The lab's run lock (PostgreSQL advisory lock, or a lock file on SQLite): one run per lab at a time.

        Raises Conflict when another run holds it.
        """
        lab = self.lab_name_or_folder()
        with ExitStack() as stack:
            with engine_errors():  # only taking the lock is translated; the caller's own errors pass as they are
                stack.enter_context(lab_lock(self.session.db, lab, lock_dir=self.state_dir / "locks"))
            yield

    def close(self) -> None:
        """Close provider clients and the database."""
        self.session.close()

    def __enter__(self) -> LabService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main_lab_name(session: LabSession) -> str | None:
    """The name homeport.yaml gives on main, read alone (None when even that cannot be read)."""
    try:
        return lab_name_at(session.repo, fetch(session, None).commit)
    except Exception:  # no main, or no readable homeport.yaml: the caller falls back to the folder's name
        return None


def check_lab_dir(path: Path) -> None:
    """Invalid unless path holds a Git repository (a typo in --lab is a clear error at once)."""
    with engine_errors():
        open_repo(path)


def open_mirror(url: str, path: Path, *, branch: str = "main", env: dict[str, str] | None = None) -> LabMirror:
    """A local bare mirror of a lab repository on a forge (the daemon's `--repo URL`).

    Sync it, then open its path with `LabService.open`.
    """
    return LabMirror(url, path, branch=branch, env=env)
