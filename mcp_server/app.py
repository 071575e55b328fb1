"""The lab an MCP server serves: one LabService, used by one tool call at a time."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from mcp_server.auditlater import AuditWriter
from reconciler.models.desired import DesiredState
from reconciler.models.inventory import Inventory
from reconciler.service import LabService, Observation
from reconciler.service.errors import ProviderError

# How long a read may answer from a provider's last full observe while its one-call change check says nothing
# moved (docs/mcp.md): fields read from guests' configs and other processes' provider state are at most this old.
REUSE_SECONDS = 30.0

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
        self._memo: dict[str, tuple[Hashable, tuple[object, ...], Any]] = {}
        # Audit rows of successful reads are written here while no call is in flight, in call order.
        self._audits = AuditWriter()
        self._lab_name: tuple[str, str] | None = None

    def state(self, ref: str | None = None) -> DesiredState:
        """The desired state at main (or ref); cached by blob and commit id, so repeated calls are cheap."""
        return self.service.state(ref)

    def observe(self, state: DesiredState, only: set[str] | None = None) -> Observation:
        """Live inventories of the enabled providers (`.inventories`; `.unavailable` says why others are not).

        Each provider makes its cheap change check (Proxmox: one GET /cluster/resources) and answers from its
        last observe when nothing it reads moved and that observe is at most REUSE_SECONDS old; a provider
        without such a check observes in full.
        """
        result = Observation()
        for name, config in sorted(state.lab.spec.providers.items()):
            if only is not None and name not in only:
                continue
            if not config.enabled:
                result.unavailable[name] = f"provider {name} is disabled (enabled: false in homeport.yaml)"
                continue
            try:
                provider = self.service.session.provider(state.lab_name, name, config)
                result.inventories[name] = provider.observe_reusing(REUSE_SECONDS)
            except ProviderError as exc:
                result.unavailable[name] = f"provider {name} could not be observed: {exc}"
            except Exception as exc:  # a vendor error a provider forgot to map must not stop the other providers
                result.unavailable[name] = f"provider {name} could not be observed ({type(exc).__name__}): {exc}"
        return result

    @property
    def lab_name(self) -> str:
        """The lab's name (held per main commit: audit rows need it on every call)."""
        try:
            state = self.state()
        except Exception:  # main does not load: the service's fallback (the name it had, or the folder's)
            return self.service.lab_name_or_folder()
        if self._lab_name is None or self._lab_name[0] != state.revision:
            self._lab_name = (state.revision, state.lab_name)
        return self._lab_name[1]

    def audit_later(self, write: Callable[[], None]) -> None:
        """Write an audit row once calls stop for a moment (rows stay in call order; see flush_audits)."""
        self._audits.add(write)

    def call_started(self) -> None:
        """A tool call began (read audit rows wait until calls stop for a moment: mcp_server/auditlater.py)."""
        self._audits.call_started()

    def call_ended(self) -> None:
        """A tool call has its answer."""
        self._audits.call_ended()

    def flush_audits(self) -> None:
        """Wait until every audit row handed to audit_later is written."""
        self._audits.flush()

    def memo(self, name: str, key: Hashable, sources: Sequence[object], build: Callable[[], T]) -> T:
        """What build() returned when name was last asked with an equal key and the very same source objects
        (the observer's reused guests; held here, so their identities cannot be taken by new objects), else
        build() anew. One entry per name."""
        hit = self._memo.get(name)
        if hit is not None and hit[0] == key and len(hit[1]) == len(sources) and all(
                a is b for a, b in zip(hit[1], sources, strict=True)):
            return hit[2]  # type: ignore[no-any-return]
        value = build()
        self._memo[name] = (key, tuple(sources), value)
        return value

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
        """Write the pending audit rows, close the service."""
        self._audits.close()
        self.service.close()
