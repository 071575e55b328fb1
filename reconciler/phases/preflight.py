"""Preflight: before anything is applied, each provider checks the changes it would make (permissions,
storage content types, reachable engines, credentials); a change that would fail is held back with the remedy."""

from __future__ import annotations

from reconciler.models.desired import DesiredState
from reconciler.models.plan import BlockKind, Op, Plan
from reconciler.phases.context import LabSession
from reconciler.providers.errors import ProviderError


def preflight(session: LabSession, state: DesiredState, plan: Plan) -> None:
    """Ask each change's provider; block the change with the provider's problems, one change at a time."""
    for change in plan.changes:
        if change.op is Op.noop or change.blocked:
            continue
        config = state.lab.spec.providers.get(change.provider)
        if config is None or not config.enabled:
            continue
        try:
            problems = session.provider(state.lab_name, change.provider, config).preflight([change])
        except ProviderError as exc:
            problems = [str(exc)]
        if problems:
            change.hold(BlockKind.preflight, "preflight: " + "; ".join(problems))
