"""Rollback as Argo CD and Flux users know it: a proposal that returns main to a previously applied
revision. The proposal's one commit gives main the files of that revision (a revert commit on top of
main; history is never rewritten). Once a person merges it, the reconciler applies it even when the
plan deletes what the rolled-back commits created (an approved rollback is its own approval; see
reconciler/phases/rollback_approval.py); prune guards still apply.
"""

from __future__ import annotations

import pygit2
from sqlalchemy import select

from reconciler.proposals.create import ProposalDraft, propose
from reconciler.proposals.records import ProposalView
from reconciler.service.errors import Invalid, engine_errors
from reconciler.service.lab import LabService
from reconciler.store.tables import ReconcileRunRow

ROLLBACK_KEY = "rollback_to"


def applied_revisions(lab: LabService, limit: int = 50) -> list[str]:
    """Revisions a reconcile applied successfully, newest first, each once."""
    name = lab.lab_name
    with lab.session.db.session() as s:
        rows = s.execute(select(ReconcileRunRow.revision).where(
            ReconcileRunRow.lab == name, ReconcileRunRow.status == "ok", ReconcileRunRow.mode != "plan",
            ReconcileRunRow.revision.is_not(None)).order_by(ReconcileRunRow.started_at.desc()).limit(500)).all()
    seen: list[str] = []
    for (rev,) in rows:
        if rev and rev not in seen:
            seen.append(rev)
    return seen[:limit]


def _resolve(repo: pygit2.Repository, text: str) -> str:
    try:
        return str(repo.revparse_single(text).peel(pygit2.Commit).id)
    except (KeyError, ValueError, pygit2.GitError):
        raise Invalid(f"no commit {text!r} in the lab's repository (give a revision from `homeport history`)") \
            from None


def rollback_target(lab: LabService, to: str | None) -> tuple[str, str]:
    """(main's commit, the revision to return to): `to`, or the applied revision before main's."""
    repo = lab.session.repo
    main = str(repo.references["refs/heads/main"].peel(pygit2.Commit).id)
    applied = applied_revisions(lab)
    if to is not None:
        target = _resolve(repo, to)
        if target == main:
            raise Invalid(f"main is already at {target[:12]}: nothing to roll back")
        if target not in applied:
            raise Invalid(f"{target[:12]} was never applied by homeport; roll back to an applied revision: "
                          + (", ".join(r[:12] for r in applied[:5]) or "(none yet)"))
        if not repo.descendant_of(main, target):
            raise Invalid(f"{target[:12]} is not an ancestor of main; roll back to a revision main came from")
        return main, target
    earlier = [r for r in applied if r != main and repo.descendant_of(main, r)]
    if not earlier:
        raise Invalid("no earlier applied revision to roll back to (see `homeport history`)")
    return main, earlier[0]


def rollback_edits(repo: pygit2.Repository, main: str, target: str) -> dict[str, bytes | None]:
    """The file edits that give main the tree of target (None deletes a file)."""
    edits: dict[str, bytes | None] = {}
    diff = repo[main].peel(pygit2.Commit).tree.diff_to_tree(repo[target].peel(pygit2.Commit).tree)
    for delta in diff.deltas:
        if delta.status == pygit2.enums.DeltaStatus.DELETED:
            edits[delta.old_file.path] = None
        else:
            blob = repo[delta.new_file.id]
            assert isinstance(blob, pygit2.Blob)
            edits[delta.new_file.path] = blob.data
            if delta.old_file.path != delta.new_file.path:
                edits[delta.old_file.path] = None
    return edits


def propose_rollback(lab: LabService, *, to: str | None = None, reason: str | None = None,
                     author: str | None = None, author_kind: str | None = None) -> ProposalView:
    """A proposal returning main to an applied revision, with its plan preview; it never merges by itself."""
    main, target = rollback_target(lab, to)
    repo = lab.session.repo
    edits = rollback_edits(repo, main, target)
    if not edits:
        raise Invalid(f"main's files already equal {target[:12]}: nothing to roll back")
    subject = repo[target].peel(pygit2.Commit).message.splitlines()[0][:80] if repo[target] else ""
    title = f"Roll back to {target[:12]} ({subject})" if subject else f"Roll back to {target[:12]}"
    draft = ProposalDraft(title=title[:200], edits=edits,
                          reason=reason or f"roll main back from {main[:12]} to the applied revision {target[:12]}",
                          evidence={ROLLBACK_KEY: target, "rollback_from": main, "tool": "rollback"})
    with engine_errors():
        state = lab.state()
        return propose(lab.session, draft, author=author or lab.actor, author_kind=author_kind or lab.actor_kind,
                       observation=lab.recent_observation(state), base_state=state)
