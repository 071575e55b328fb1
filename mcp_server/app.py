"""The lab an MCP server serves: one LabSession, used by one tool call at a time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from reconciler.models.desired import DesiredState
from reconciler.models.inventory import Inventory
from reconciler.phases.context import LabSession
from reconciler.phases.fetch import fetch
from reconciler.phases.load import load
from reconciler.phases.observe import Observation, observe_all
from reconciler.proposals.preview import PreviewMemo
from reconciler.source.loader import LoadCache

T = TypeVar("T")


class HomeportApp:
    """The served lab: its session, the current desired state at main, and a lock around both.

    LabSession (pygit2 repository, provider clients) is not thread-safe, and the SDK runs synchronous
    tools on worker threads, so every tool runs under `lock`.
    """

    def __init__(self, lab_dir: Path, *, database_url: str | None = None) -> None:
        self.lab_dir = lab_dir.resolve()
        self.session = LabSession.open(self.lab_dir, database_url=database_url, actor="homeport-mcp",
                                       actor_kind="agent")
        # A long-lived server keeps parsed blobs in memory; writing the on-disk parse cache after every
        # throwaway proposal commit would cost more than it saves.
        self.session.cache = LoadCache()
        self.lock = threading.RLock()
        self._recent: tuple[float, str, Observation] | None = None
        self.preview_memo = PreviewMemo()
        self._main: DesiredState | None = None

    def state(self, ref: str | None = None) -> DesiredState:
        """The desired state at main (or ref); cached by blob and commit id, so repeated calls are cheap.

        main's state is also held here: proposals load throwaway commits that would otherwise push it out
        of the session's small cache of resolved states.
        """
        revision = fetch(self.session, ref)
        if ref is None and self._main is not None and self._main.revision == revision.id:
            return self._main
        state = load(self.session, revision)
        if ref is None:
            self._main = state
        return state

    def observe(self, state: DesiredState, only: set[str] | None = None) -> Observation:
        """Live inventories of the enabled providers (unavailable ones say why)."""
        return observe_all(self.session, state, only)

    def recent_observation(self, state: DesiredState, max_age: float = 5.0) -> Observation:
        """An observation of all providers at most max_age seconds old (for proposal previews in a row)."""
        key = state.lab.spec.model_dump_json(include={"providers"})
        now = time.monotonic()
        if self._recent is not None and self._recent[1] == key and now - self._recent[0] <= max_age:
            return self._recent[2]
        observation = self.observe(state)
        self._recent = (now, key, observation)
        return observation

    def inventories(self, state: DesiredState) -> dict[str, Inventory]:
        """Only the inventories that could be read."""
        return self.observe(state).inventories

    def run(self, fn: Callable[[], T]) -> T:
        """Run fn under the lab's lock."""
        with self.lock:
            return fn()

    def close(self) -> None:
        """Close the session."""
        self.session.close()
