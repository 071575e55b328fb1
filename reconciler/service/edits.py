"""The file edits a proposal is made of, for doors that build proposals (MCP tools, the demo, the web UI).

An edit is (path, bytes): a new object file, or an existing object's file at main changed in place by a
round-trip YAML edit (comments and key order kept). Pass the edits to `commands.propose` in a
`ProposalDraft`.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap

from reconciler.models.desired import DesiredState
from reconciler.proposals.create import ProposalDraft
from reconciler.proposals.edits import KIND_DIRS, new_object_edit, object_edit
from reconciler.proposals.names import check_branch, check_repo_path, check_resource_name, check_text
from reconciler.proposals.yamledit import Mutation, ensure_map, merge_map, set_path
from reconciler.service.errors import engine_errors
from reconciler.service.lab import LabService

__all__ = [
    "KIND_DIRS",
    "CommentedMap",
    "Mutation",
    "ProposalDraft",
    "check_branch",
    "check_repo_path",
    "check_resource_name",
    "check_text",
    "edit_object",
    "ensure_map",
    "merge_map",
    "new_object",
    "set_path",
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
