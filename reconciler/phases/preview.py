"""Provider previews, on request: a provider's own account of what a change would do (a CloudFormation change
set). Opt-in, because making one can leave a reviewable object behind in the provider (never applied)."""

from __future__ import annotations

from reconciler.models.desired import DesiredState
from reconciler.models.plan import Op, Plan
from reconciler.phases.context import LabSession
from reconciler.phases.render import render_one
from reconciler.providers.errors import ProviderError
from reconciler.render.errors import ChartError, RenderError


def preview_changes(session: LabSession, state: DesiredState, plan: Plan) -> None:
    """Attach each unblocked change's provider preview; a preview that fails is reported, not fatal."""
    for change in plan.changes:
        if change.op in (Op.noop, Op.delete) or change.blocked:
            continue
        config = state.lab.spec.providers.get(change.provider)
        resource = state.effective.get(change.resource)
        if config is None or not config.enabled or resource is None:
            continue
        try:
            placed = resource.model_copy(update={"node": change.node or resource.node})
            artifacts = render_one(session, placed)
            change.preview = session.provider(state.lab_name, change.provider, config).preview(
                change, placed, artifacts
            )
        except (ProviderError, RenderError, ChartError) as exc:
            plan.warnings.append(f"{change.resource}: no provider preview: {exc}")
