"""Drift resolved by review: `drift propose --adopt` declares the live values, `--revert` restores the declared ones
once merged (with self_heal off), and a later, different drift is not reverted by the old approval."""

from __future__ import annotations

import pygit2
import pytest

from reconciler.models.plan import Mode
from reconciler.phases.context import LabSession
from reconciler.phases.fetch import fetch
from reconciler.phases.gate import REVERT_ANNOTATION
from reconciler.phases.load import load
from reconciler.phases.run import reconcile
from reconciler.proposals.create import ProposalRefused
from reconciler.proposals.drift import propose_drift
from reconciler.proposals.review import approve
from reconciler.providers.sim.drift import cause_drift
from reconciler.source.gitrepo import read_path
from reconciler.store.deviations import list_open_deviations
from reconciler.store.provider_state import DbProviderState
from tests.daemon.conftest import FakeClock


def _live(session: LabSession, name: str) -> dict[str, object]:
    machine = DbProviderState(session.db, "home", "lab").get(f"machine/{name}")
    assert isinstance(machine, dict)
    return dict(machine["fields"])


def _drift(session: LabSession, clock: FakeClock, name: str, **fields: object) -> None:
    cause_drift(DbProviderState(session.db, "home", "lab"), name, fields)
    clock.advance(minutes=5)
    assert reconcile(session, mode=Mode.auto).counts["drifted"] == 1


def test_adopt_writes_live_values_into_the_yaml(session: LabSession, clock: FakeClock) -> None:
    reconcile(session, mode=Mode.auto)
    _drift(session, clock, "vm-1", cpu=6, memory_gb=12.0)
    proposal = propose_drift(session, "vm-1", "adopt")
    assert proposal.title == "Adopt live cpu, memory_gb of vm-1"
    assert [c for c in proposal.plan["changes"] if c["resource"] == "vm-1"] == [], "declared = live: no change"
    approve(session, proposal.id, reviewer="alice")
    text = read_path(session.repo, session.repo.revparse_single("main").peel(pygit2.Commit), "resources/vm-1.yaml")
    assert text is not None and b"cpu: 6" in text and b"memory_gb: 12" in text
    clock.advance(minutes=5)
    result = reconcile(session, mode=Mode.auto)
    assert result.counts["applied"] == 0
    assert list_open_deviations(session.db, "home") == []
    assert _live(session, "vm-1")["cpu"] == 6


def test_revert_restores_declared_values_for_exactly_that_drift(session: LabSession, clock: FakeClock) -> None:
    reconcile(session, mode=Mode.auto)
    _drift(session, clock, "vm-2", cpu=5)
    proposal = propose_drift(session, "vm-2", "revert")
    assert proposal.title == "Revert drift of vm-2 (cpu)"
    approve(session, proposal.id, reviewer="alice")
    state = load(session, fetch(session, None))
    assert REVERT_ANNOTATION in state.resources["vm-2"].metadata.annotations
    clock.advance(minutes=5)
    result = reconcile(session, mode=Mode.auto)
    assert [(o.change.resource, o.status) for o in result.outcomes] == [("vm-2", "applied")]
    assert _live(session, "vm-2")["cpu"] == 1
    assert list_open_deviations(session.db, "home") == []
    # a new, different drift is not covered by the approval of the old one
    _drift(session, clock, "vm-2", cpu=3)
    clock.advance(minutes=5)
    result = reconcile(session, mode=Mode.auto)
    assert result.counts["applied"] == 0 and _live(session, "vm-2")["cpu"] == 3


def test_no_drift_or_unadoptable_fields_are_refused_clearly(session: LabSession, clock: FakeClock) -> None:
    reconcile(session, mode=Mode.auto)
    with pytest.raises(ProposalRefused, match="no open drift"):
        propose_drift(session, "vm-0", "revert")
    _drift(session, clock, "vm-0", status="stopped")
    with pytest.raises(ProposalRefused, match="cannot adopt status of vm-0 automatically"):
        propose_drift(session, "vm-0", "adopt")
