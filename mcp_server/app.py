"""The lab an MCP server serves: one LabService, used by one tool call at a time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from reconciler.models.desired import DesiredState
from reconciler.models.inventory import Inventory
from reconciler.service import LabService

T = TypeVar("T")


class HomeportApp:
    """The served lab: its service (main's desired state cached per commit) and the lock every tool runs under.

    The lab's repository and provider clients are not thread-safe, and the SDK runs synchronous tools on
    worker threads, so every tool runs under `lock`.
    """

    def __init__(self, lab_dir: Path, *, database_url: str | None = None) -> None:
        # A long-lived server keeps parsed blobs in memory; writing the on-disk parse cache after every
        # throwaway proposal commit would cost more than it saves.
        self.service = LabService.open(lab_dir, database_url=database_url, actor="homeport-mcp", actor_kind="agent",
                                       memory_cache=True)
        self.lab_dir = self.service.lab_dir
        self.lock = self.service.lock

    def state(self, ref: str | None = None) -> DesiredState:
        """The desired state at main (or ref); cached by blob and commit id, so repeated calls are cheap."""
        return self.service.state(ref)

    def observe(self, state: DesiredState, only: set[str] | None = None) -> Any:
        """Live inventories of the enabled providers (`.inventories`; `.unavailable` says why others are not)."""
        return self.service.observe(state, only)

    def recent_observation(self, state: DesiredState, max_age: float = 5.0) -> Any:
        """An observation of all providers at most max_age seconds old (for proposal previews in a row)."""
        return self.service.recent_observation(state, max_age)

    def inventories(self, state: DesiredState) -> dict[str, Inventory]:
        """Only the inventories that could be read."""
        return dict(self.service.observe(state).inventories)

    def run(self, fn: Callable[[], T]) -> T:
        """Run fn under the lab's lock."""
        return self.service.run(fn)

    def close(self) -> None:
        """Close the service."""
        self.service.close()
