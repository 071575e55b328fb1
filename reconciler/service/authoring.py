"""Making and checking a lab: init, editor schemas, validate, render; and the simulator's out-of-band edits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from reconciler.identity.secret_refs import literal_secret_warnings
from reconciler.models.progress import Stage
from reconciler.phases.render import chart_for, render_all
from reconciler.providers.sim.drift import cause_drift, delete_out_of_band
from reconciler.providers.sim.drift import parse_assignment as sim_parse_assignment
from reconciler.render.validators import blocking, validate_rendered
from reconciler.service.errors import Invalid, engine_errors
from reconciler.service.lab import LabService
from reconciler.source.scaffold import create_lab
from reconciler.source.schemas import write_schemas as source_write_schemas
from reconciler.store.provider_state import DbProviderState


class ValidationReport(BaseModel):
    """What `validate` found at a commit."""

    lab: str
    revision: str
    pools: int
    templates: int
    resources: int
    rendered: int
    without_chart: list[str] = Field(default_factory=list, description="Resources no chart renders")
    problems: list[str] = Field(default_factory=list, description="Blocking problems (the commit is not valid)")
    notes: list[str] = Field(default_factory=list, description="Validator notes that do not block")
    warnings: list[str] = Field(default_factory=list, description="Fields of homeport.yaml that seem to hold a "
                                "secret instead of naming where it is kept (docs/identity.md)")

    @property
    def valid(self) -> bool:
        """No blocking problem."""
        return not self.problems


class RenderedResource(BaseModel):
    """Where one resource's chart output was written."""

    chart: str
    directory: str
    files: list[str]


class RenderReport(BaseModel):
    """What `render` wrote."""

    artifacts: dict[str, RenderedResource] = Field(default_factory=dict)
    errors: list[str] = Field(default_factory=list)
    without_chart: list[str] = Field(default_factory=list)


def init_lab(directory: Path) -> str:
    """Create a lab in directory (a new Git repository with the example lab, committed on main); its commit id."""
    with engine_errors():
        return create_lab(directory)


def write_schemas(out: Path) -> list[Path]:
    """Write the JSON Schemas of the desired-state kinds for editors; the files written."""
    with engine_errors():
        return source_write_schemas(out)


def validate(lab: LabService, *, ref: str | None = None, render_outputs: bool = False) -> ValidationReport:
    """Check the desired state at ref (default main): kinds, references, chart values; with render_outputs,
    also render every chart and run each output format's validator."""
    state = lab.state(ref)
    with engine_errors():
        renders = render_all(lab.session, state, use_index=not render_outputs)
        problems = list(renders.errors)
        notes: list[str] = _document_spelling_notes(lab, state)
        if render_outputs:
            rendered = sorted(renders.artifacts.items())
            for done, (name, artifacts) in enumerate(rendered):
                lab.session.report(Stage.validate, done, len(rendered), name)
                chart = chart_for(lab.session, state.effective[name])
                if chart is None:
                    continue
                for issue in validate_rendered(artifacts.files, chart):
                    line = f"{name} ({artifacts.chart}): {issue}"
                    (problems if blocking([issue]) else notes).append(line)
            lab.session.report(Stage.validate, len(rendered), len(rendered))
    return ValidationReport(lab=state.lab_name, revision=state.revision, pools=len(state.pools),
                            templates=len(state.templates), resources=len(state.resources),
                            rendered=len(renders.artifacts), without_chart=list(renders.without_chart),
                            problems=problems, notes=notes,
                            warnings=[str(w) for w in literal_secret_warnings(state.lab)])


def _document_spelling_notes(lab: LabService, state: Any) -> list[str]:
    """A deprecation note per file written with the architecture document's spellings (read as homeport's)."""
    import pygit2

    from reconciler.source.aliases import uses_document_spellings
    from reconciler.source.gitrepo import read_path

    commit = lab.session.repo[state.revision].peel(pygit2.Commit)
    notes = []
    for path in sorted({ref.file for ref in state.sources.values()}):
        data = read_path(lab.session.repo, commit, path)
        if data is not None and uses_document_spellings(data.decode("utf-8", "replace")):
            notes.append(f"{path}: deprecated spellings from the architecture document (apiVersion homelab.mcp/v1, "
                         "requirements cores / gpu_passthrough) are read as homelab.ai/v1, cpu and gpu; write "
                         "those instead")
    return notes


def render(lab: LabService, *, ref: str | None = None, names: list[str] | None = None) -> RenderReport:
    """Render every (or the named) resource's chart into rendered-configs/<resource>/<chart>/."""
    state = lab.state(ref)
    unknown = sorted(set(names or []) - set(state.effective))
    if unknown:
        raise Invalid(f"no resource named {', '.join(unknown)}")
    with engine_errors():
        renders = render_all(lab.session, state, write=True, names=set(names) if names else None)
    return RenderReport(
        artifacts={n: RenderedResource(chart=a.chart, directory=str(a.directory), files=sorted(a.files))
                   for n, a in renders.artifacts.items()},
        errors=list(renders.errors), without_chart=list(renders.without_chart))


def parse_assignment(text: str) -> tuple[str, Any]:
    """'cpu=8' -> ('cpu', 8): values are JSON when they parse as JSON, else strings; Invalid otherwise."""
    with engine_errors():
        return sim_parse_assignment(text)


def _sim_state(lab: LabService, resource: str) -> DbProviderState:
    state = lab.state()
    eff = state.effective.get(resource)
    sims = [n for n, p in state.lab.spec.providers.items() if p.type == "sim"]
    provider = eff.provider if eff is not None and eff.provider_type == "sim" else (sims[0] if sims else None)
    if provider is None:
        raise Invalid("this lab has no sim provider")
    return DbProviderState(lab.session.db, state.lab_name, provider)


def sim_drift(lab: LabService, resource: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Change a simulated machine's live fields behind homeport's back; its fields afterwards."""
    with engine_errors():
        return cause_drift(_sim_state(lab, resource), resource, changes)


def sim_delete(lab: LabService, resource: str) -> None:
    """Delete a simulated machine behind homeport's back."""
    with engine_errors():
        delete_out_of_band(_sim_state(lab, resource), resource)
