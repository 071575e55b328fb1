"""The file edits proposals are made of: a new object file, or a round-trip edit of an existing object."""

from __future__ import annotations

from typing import Any

from reconciler.models.desired import DesiredState
from reconciler.models.meta import API_VERSION
from reconciler.proposals.names import ProposalInputError, check_resource_name
from reconciler.proposals.yamledit import Mutation, edit_document, new_document
from reconciler.source.gitrepo import read_path

KIND_DIRS = {"UniversalResource": "resources", "ResourcePool": "pools", "DeploymentTemplate": "templates"}


def _objects(state: DesiredState, kind: str) -> dict[str, Any]:
    if kind == "UniversalResource":
        return dict(state.resources)
    if kind == "ResourcePool":
        return dict(state.pools)
    if kind == "DeploymentTemplate":
        return dict(state.templates)
    return {}


def new_object_edit(state: DesiredState, kind: str, name: str, spec: dict[str, Any], *,
                    labels: dict[str, str] | None = None, header: str | None = None) -> tuple[str, bytes]:
    """(path, bytes) of a new file holding one object; refused when the name is taken."""
    check_resource_name(name)
    taken = _objects(state, kind)
    if name in taken:
        raise ProposalInputError(f"a {kind} named {name!r} already exists (in {state.sources[(kind, name)].file}); "
                                 "choose another name or update the existing one")
    doc: dict[str, Any] = {"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": name}}
    if labels:
        doc["metadata"]["labels"] = dict(labels)
    doc["spec"] = spec
    return f"{KIND_DIRS[kind]}/{name}.yaml", new_document(doc, header)


def object_edit(repo: Any, state: DesiredState, kind: str, name: str, mutate: Mutation) -> tuple[str, bytes]:
    """(path, bytes) of the object's file at the state's revision with mutate applied (comments kept)."""
    ref = state.sources.get((kind, name))
    if ref is None:
        known = _objects(state, kind)
        sample = ", ".join(sorted(str(k) for k in known)[:10])
        raise ProposalInputError(f"no {kind} named {name!r}; known: {sample or '(none)'}")
    commit = repo[state.revision]
    data = read_path(repo, commit, ref.file)
    if data is None:
        raise ProposalInputError(f"{ref.file} is missing at {state.revision[:12]}")
    return ref.file, edit_document(data, kind, name, mutate, path=ref.file)
