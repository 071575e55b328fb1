"""Drift as a proposal: adopt the live values into the YAML, or approve restoring the declared ones.

`adopt` writes the live values of the drifted fields into the resource's file (requirements, service
image/env), so desired state follows reality. `revert` adds the annotation `homeport.dev/revert-drift`
with the drift's fingerprint: once merged, the daemon restores the declared values for exactly that drift
(even with self_heal off); a different later drift does not match and waits again. Either way the
decision is a reviewed commit like any other change.
"""

from __future__ import annotations

from typing import Any, Literal

from ruamel.yaml.comments import CommentedMap

from reconciler.phases.context import LabSession
from reconciler.phases.fetch import fetch
from reconciler.phases.gate import REVERT_ANNOTATION, drift_fingerprint
from reconciler.phases.load import load
from reconciler.proposals.create import ProposalDraft, ProposalRefused, propose
from reconciler.proposals.edits import object_edit
from reconciler.proposals.names import ProposalInputError, check_resource_name
from reconciler.proposals.records import ProposalView
from reconciler.proposals.yamledit import set_path
from reconciler.store.deviations import open_deviations

# Provider field -> where the same value is declared in a UniversalResource's spec.
ADOPTABLE: dict[str, list[str]] = {
    "cpu": ["requirements", "cpu"],
    "memory_gb": ["requirements", "memory_gb"],
    "storage_gb": ["requirements", "storage_gb"],
    "image": ["service", "image"],
    "env": ["service", "env"],
}


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def propose_drift(session: LabSession, resource: str, how: Literal["adopt", "revert"], *,
                  author: str | None = None, author_kind: str | None = None) -> ProposalView:
    """Open a proposal resolving the open drift of one resource (see the module docstring)."""
    check_resource_name(resource, "resource")
    state = load(session, fetch(session, None))
    member = state.effective.get(resource)
    if member is not None and member.member_of:
        raise ProposalRefused(
            f"{resource} is member {member.member} of high_availability resource {member.member_of}: its file "
            f"declares all {member.members} members, so one member's drift is not adopted or reverted by proposal; "
            f"`homeport apply` reverts it, or edit the file of {member.member_of} by hand")
    if resource not in state.resources:
        raise ProposalInputError(f"no resource {resource!r} in the desired state at main")
    with session.db.session() as s:
        devs = [(d.field_path, d.expected_value, d.actual_value) for d in open_deviations(s, state.lab_name, resource)]
    if not devs:
        raise ProposalRefused(f"{resource} has no open drift; `homeport status` lists the deviations")
    fields = ", ".join(path for path, _, _ in devs)
    evidence: dict[str, Any] = {"deviations": [{"field": p, "declared": e, "live": a} for p, e, a in devs]}
    if how == "adopt":
        if any(path == "(resource)" for path, _, _ in devs):
            raise ProposalRefused(f"{resource} is missing live, so there is nothing to adopt; to stop managing it, "
                                  f"propose removing resources/{resource}.yaml, or use --revert to recreate it")
        unmapped = [path for path, _, _ in devs if path not in ADOPTABLE]
        if unmapped:
            raise ProposalRefused(f"cannot adopt {', '.join(unmapped)} of {resource} automatically (no declared "
                                  f"field holds them); edit the file by hand, or use --revert. Adoptable: "
                                  f"{', '.join(sorted(ADOPTABLE))}")

        def adopt(doc: CommentedMap) -> None:
            for path, _, live in devs:
                set_path(doc, ["spec", *ADOPTABLE[path]], _number(live))

        title = f"Adopt live {fields} of {resource}"
        reason = "; ".join(f"{p}: declared {e!r}, live {a!r}" for p, e, a in devs) + " -> declare the live values"
        path, data = object_edit(session.repo, state, "UniversalResource", resource, adopt)
    else:
        fingerprint = drift_fingerprint([(p, a) for p, _, a in devs])

        def revert(doc: CommentedMap) -> None:
            set_path(doc, ["metadata", "annotations", REVERT_ANNOTATION], fingerprint)

        title = f"Revert drift of {resource} ({fields})"
        reason = "; ".join(f"{p}: live {a!r} back to declared {e!r}" for p, e, a in devs)
        path, data = object_edit(session.repo, state, "UniversalResource", resource, revert)
    evidence["resolution"] = how
    return propose(session, ProposalDraft(title=title, edits={path: data}, reason=reason, evidence=evidence),
                   author=author, author_kind=author_kind)
