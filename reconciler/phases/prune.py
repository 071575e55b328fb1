"""Prune: delete owned resources no longer declared, when policy and guards allow (see gate)."""

from __future__ import annotations

from reconciler.models.desired import DesiredState
from reconciler.models.plan import Op, Plan
from reconciler.phases.apply import ApplyOutcome, execute_changes
from reconciler.phases.context import LabSession


def prune(session: LabSession, state: DesiredState, plan: Plan, run_id: str) -> list[ApplyOutcome]:
    """Run the unblocked deletes; blocked ones stay for the next run (survivors of a failed prune too)."""
    return execute_changes(session, state, [c for c in plan.changes if c.op is Op.delete and not c.blocked], run_id)
