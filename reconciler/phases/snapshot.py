"""Snapshots: the full observed inventory plus the desired state at main's revision, for the record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.models.desired import DesiredState
from reconciler.phases.context import LabSession
from reconciler.phases.fetch import fetch
from reconciler.phases.load import load
from reconciler.phases.observe import observe_all
from reconciler.store.snapshots import save_snapshot


@dataclass(frozen=True)
class SnapshotSummary:
    """What a snapshot holds, in numbers."""

    id: str
    name: str
    revision: str
    resources_desired: int
    resources_observed: int
    providers_unavailable: list[str]


def snapshot_data(state: DesiredState, observation: Any) -> dict[str, Any]:
    """The snapshot document: desired kinds and effective resources, inventories, unavailable providers."""
    return {
        "revision": state.revision,
        "lab": state.lab.model_dump(mode="json"),
        "pools": {n: p.model_dump(mode="json") for n, p in sorted(state.pools.items())},
        "templates": {n: t.model_dump(mode="json") for n, t in sorted(state.templates.items())},
        "desired_resources": {n: e.model_dump(mode="json") for n, e in sorted(state.effective.items())},
        "inventories": {n: inv.model_dump(mode="json", exclude={"resources"})
                        for n, inv in sorted(observation.inventories.items())},
        "observed_resources": [r.model_dump(mode="json") for inv in observation.inventories.values()
                               for r in inv.resources],
        "unavailable": dict(observation.unavailable),
    }


def take_snapshot(session: LabSession, *, name: str | None = None, snapshot_type: str = "manual",
                  notes: str | None = None) -> SnapshotSummary:
    """Observe every enabled provider and store it with the desired state at main (secrets redacted)."""
    state = load(session, fetch(session, None))
    observation = observe_all(session, state)
    now = session.clock()
    label = name or f"{snapshot_type}-{now:%Y%m%d-%H%M%S}"
    data = snapshot_data(state, observation)
    snap_id = save_snapshot(session.db, lab=state.lab_name, name=label, snapshot_type=snapshot_type,
                            revision=state.revision, data=data, created_by=session.actor, notes=notes)
    return SnapshotSummary(snap_id, label, state.revision, len(state.effective), len(data["observed_resources"]),
                           sorted(observation.unavailable))
