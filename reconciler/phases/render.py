"""Render: each resource through its chart; outputs checked before anything is applied."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field

from reconciler.models.desired import DesiredState
from reconciler.models.effective import EffectiveResource
from reconciler.models.progress import Stage
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


def render_one(
    session: LabSession, resource: EffectiveResource, *, write: bool = False, known_good: set[str] | None = None
) -> RenderedArtifacts | None:
    """One resource's artifacts (None when no chart renders its provider and type)."""
    chart = chart_for(session, resource)
    if chart is None:
        return None
    out = render_chart(chart, resource, known_good=known_good)
    if out.checked_only:
        return RenderedArtifacts(chart=chart.name, files={}, directory=None)
    if known_good is not None:
        known_good.add(out.key)
    directory = write_rendered(session.rendered_dir, resource.name, chart.name, out.files) if write else None
    return RenderedArtifacts(chart=chart.name, files=out.files, directory=directory)


def render_all(
    session: LabSession,
    state: DesiredState,
    *,
    write: bool = False,
    names: set[str] | None = None,
    use_index: bool = True,
) -> RenderSet:
    """Render every (or the named) resource; collect all errors rather than stopping at the first."""
    result = RenderSet()
    index = None if write or not use_index else load_render_index(session)
    before = len(index) if index is not None else 0
    todo = [(n, r) for n, r in sorted(state.effective.items()) if names is None or n in names]
    for done, (name, resource) in enumerate(todo):
        session.report(Stage.render, done, len(todo), name)
        try:
            artifacts = render_one(session, resource, write=write, known_good=index)
        except (RenderError, ChartError) as exc:
            result.errors.append(f"{resource.source_file}: {exc}")
            continue
        if artifacts is None:
            result.without_chart.append(name)
        else:
            result.artifacts[name] = artifacts
    session.report(Stage.render, len(todo), len(todo))
    if index is not None and len(index) != before:
        save_render_index(session, index)
    return result


RENDER_INDEX = "render-index.json"
RENDER_INDEX_MAX = 200_000


def load_render_index(session: LabSession) -> set[str]:
    """Render keys (chart digest + values) known to render: a cache, so a no-op run need not re-render."""
    path = session.state_dir / RENDER_INDEX
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return set(data) if isinstance(data, list) else set()


def save_render_index(session: LabSession, keys: set[str]) -> None:
    """Write the index atomically (a lost update only costs a re-render)."""
    if len(keys) > RENDER_INDEX_MAX:
        keys = set(sorted(keys)[-RENDER_INDEX_MAX // 2 :])
    session.state_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".render-index-", dir=session.state_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(sorted(keys), f)
    os.replace(tmp, session.state_dir / RENDER_INDEX)
