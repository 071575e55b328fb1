"""Preflight: before anything is applied, each provider checks the changes it would make (permissions,
storage content types, reachable engines, credentials); a change that would fail is held back with the remedy."""

from __future__ import annotations

from reconciler.models.desired import DesiredState
from reconciler.models.plan import BlockKind, Change, Op, Plan
from reconciler.phases.context import LabSession
from reconciler.phases.render import render_one
from reconciler.providers.base import Provider
from reconciler.providers.errors import ProviderError
from reconciler.render.errors import ChartError, RenderError


def preflight(session: LabSession, state: DesiredState, plan: Plan) -> None:
    """Ask each change's provider; block the change with the provider's problems, one change at a time."""
    for change in plan.changes:
        if change.op is Op.noop or change.blocked:
            continue
        config = state.lab.spec.providers.get(change.provider)
        if config is None or not config.enabled:
            continue
        try:
            provider = session.provider(state.lab_name, change.provider, config)
            problems = provider.preflight([change])
            if not problems and provider.preflight_renders and change.op is not Op.delete:
                problems = _check_rendered(session, state, provider, change)
        except ProviderError as exc:
            problems = [str(exc)]
        if problems:
            change.hold(BlockKind.preflight, "preflight: " + "; ".join(problems))


def _check_rendered(session: LabSession, state: DesiredState, provider: Provider, change: Change) -> list[str]:
    """The provider's check of what the change would send, rendered for the node the plan chose."""
    resource = state.effective.get(change.resource)
    if resource is None:
        return []
    placed = resource.model_copy(update={"node": change.node or resource.node})
    try:
        artifacts = render_one(session, placed)
    except (RenderError, ChartError) as exc:
        return [f"does not render: {exc}"]
    return provider.preflight_rendered(change, placed, artifacts)
