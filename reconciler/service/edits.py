"""The file edits a proposal is made of, for doors that build proposals (MCP tools, the demo, the web UI).

An edit is (path, bytes): a new object file, or an existing object's file at main changed in place by a
round-trip YAML edit (comments and key order kept). Pass the edits to `commands.propose` in a
`ProposalDraft`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pygit2
from pydantic import BaseModel, Field
from ruamel.yaml.comments import CommentedMap

from reconciler.models.desired import DesiredState
from reconciler.models.effective import EffectiveResource
from reconciler.phases.render import chart_for, render_one
from reconciler.proposals.create import ProposalDraft
from reconciler.proposals.edits import KIND_DIRS, new_object_edit, object_edit
from reconciler.proposals.names import (
    check_branch,
    check_proposal_id,
    check_repo_path,
    check_resource_name,
    check_text,
)
from reconciler.proposals.trial import trial_state
from reconciler.proposals.yamledit import Mutation, ensure_map, merge_map, set_path
from reconciler.render.chart import Chart
from reconciler.service.errors import Invalid, engine_errors
from reconciler.service.lab import LabService
from reconciler.source.errors import DesiredStateError
from reconciler.source.gitrepo import commit_tree_changes, scratch_writes

__all__ = [
    "KIND_DIRS",
    "CommentedMap",
    "Mutation",
    "ProposalDraft",
    "RenderPreview",
    "TrialState",
    "chart_of",
    "check_branch",
    "check_proposal_id",
    "check_repo_path",
    "check_resource_name",
    "check_text",
    "edit_object",
    "ensure_map",
    "merge_map",
    "new_object",
    "render_preview",
    "set_path",
    "trial",
]


def new_object(state: DesiredState, kind: str, name: str, spec: dict[str, Any], *,
               labels: dict[str, str] | None = None, header: str | None = None) -> tuple[str, bytes]:
    """(path, bytes) of a new file holding one object of kind; Invalid when the name is taken or not a label."""
    with engine_errors():
        return new_object_edit(state, kind, name, spec, labels=labels, header=header)


def edit_object(lab: LabService, state: DesiredState, kind: str, name: str, mutate: Mutation) -> tuple[str, bytes]:
    """(path, bytes) of the object's file at state's revision with mutate applied; NotFound-like Invalid
    when no such object is declared."""
    with engine_errors():
        return object_edit(lab.session.repo, state, kind, name, mutate)


class TrialState(BaseModel):
    """The desired state main would have with some edits: an unreferenced commit, no ref moved."""

    model_config = {"arbitrary_types_allowed": True}

    state: DesiredState
    commit: str = Field(description="The trial commit (planning it with `commands.plan(lab, ref=commit)` works)")


def trial(lab: LabService, edits: dict[str, bytes | None], *, keep: bool = False) -> TrialState:
    """The state of main with edits applied (validated like a proposal's commit); Invalid lists each problem.

    keep=False (read-only requests): the trial commit's objects go to a scratch folder deleted afterwards, so
    validating never grows the lab's .git; keep=True when the commit is used afterwards (planning it).
    """
    base_state = lab.state()
    session = lab.session
    message = "homeport trial (never referenced)"
    try:
        with engine_errors():
            if keep:
                oid = commit_tree_changes(session.repo, session.repo[base_state.revision].peel(pygit2.Commit),
                                          edits, message)
                state = trial_state(session, base_state, session.repo[oid].peel(pygit2.Commit), edits)
                return TrialState(state=state, commit=str(oid))
            with scratch_writes(session.repo) as repo:
                oid = commit_tree_changes(repo, repo[base_state.revision].peel(pygit2.Commit), edits, message)
                scratch = dataclasses.replace(session, repo=repo)
                state = trial_state(scratch, base_state, repo[oid].peel(pygit2.Commit), edits)
                return TrialState(state=state, commit=str(oid))
    except Invalid as exc:
        cause = exc.__cause__
        if isinstance(cause, DesiredStateError):
            raise Invalid("the definition does not fit the lab: "
                          + "; ".join(str(i) for i in cause.issues)) from None
        raise


class RenderPreview(BaseModel):
    """A resource rendered with its chart, nothing written."""

    chart: str | None = Field(default=None, description="Chart name (None when no chart renders the resource)")
    chart_version: str | None = None
    files: dict[str, str] = Field(default_factory=dict)


def chart_of(lab: LabService, resource: EffectiveResource) -> Chart | None:
    """The chart the reconciler renders resource with (the template's pin, else by provider and type)."""
    with engine_errors():
        return chart_for(lab.session, resource)


def render_preview(lab: LabService, resource: EffectiveResource) -> RenderPreview:
    """Render one resource with the chart the reconciler would use; Invalid when rendering fails."""
    with engine_errors():
        chart = chart_for(lab.session, resource)
        artifacts = render_one(lab.session, resource)
    return RenderPreview(chart=chart.name if chart else None, chart_version=chart.meta.version if chart else None,
                         files=dict(artifacts.files) if artifacts else {})
