"""Render: each resource through its chart; outputs checked before anything is applied."""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.models.desired import DesiredState
from reconciler.models.effective import EffectiveResource
from reconciler.phases.context import LabSession
from reconciler.providers.base import RenderedArtifacts
from reconciler.render.chart import Chart
from reconciler.render.engine import render_chart
from reconciler.render.errors import ChartError, RenderError
from reconciler.render.output import write_rendered


@dataclass
class RenderSet:
    """Artifacts by resource name, and every problem found."""

    artifacts: dict[str, RenderedArtifacts] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    without_chart: list[str] = field(default_factory=list)


def chart_for(session: LabSession, resource: EffectiveResource) -> Chart | None:
    """The chart a resource renders with: the template's pin, else by provider and resource type."""
    if resource.chart:
        return session.charts.get(resource.chart)
    return session.charts.for_resource(resource.provider_type, resource.resource_type, resource.workload_type)


def render_one(session: LabSession, resource: EffectiveResource, *, write: bool = False) -> RenderedArtifacts | None:
    """One resource's artifacts (None when no chart renders its provider and type)."""
    chart = chart_for(session, resource)
    if chart is None:
        return None
    out = render_chart(chart, resource)
    directory = write_rendered(session.rendered_dir, resource.name, chart.name, out.files) if write else None
    return RenderedArtifacts(chart=chart.name, files=out.files, directory=directory)


def render_all(
    session: LabSession, state: DesiredState, *, write: bool = False, names: set[str] | None = None
) -> RenderSet:
    """Render every (or the named) resource; collect all errors rather than stopping at the first."""
    result = RenderSet()
    for name, resource in sorted(state.effective.items()):
        if names is not None and name not in names:
            continue
        try:
            artifacts = render_one(session, resource, write=write)
        except (RenderError, ChartError) as exc:
            result.errors.append(f"{resource.source_file}: {exc}")
            continue
        if artifacts is None:
            result.without_chart.append(name)
        else:
            result.artifacts[name] = artifacts
    return result
