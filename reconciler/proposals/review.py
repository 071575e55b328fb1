"""Reviewing proposals: approve (merge into main) or reject; the lab's policy may auto-merge low risk.

Merging fast-forwards when main has not moved; otherwise it builds a merge commit with pygit2, and
refuses with a clear message when main changed the same lines. Merges are serialised by a lock file in
the Git directory, and main is re-read under that lock, so two approvals never overwrite each other.
The lab's checkout is updated only when it is clean and on main; otherwise it is left alone and the
result says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pygit2
from sqlalchemy import update

from reconciler.models.plan import Risk
from reconciler.phases.context import LabSession
from reconciler.proposals.records import ProposalView, get_proposal
from reconciler.source.errors import DesiredStateError
from reconciler.source.gitrepo import signature
from reconciler.source.loader import load_commit
from reconciler.store.audit import append_audit
from reconciler.store.tables import ProposalRow, now_utc

if TYPE_CHECKING:
    from filelock import FileLock


class ReviewError(ValueError):
    """The proposal cannot be approved or rejected as asked; the message says why and what to do."""


@dataclass
class MergeResult:
    """What approving did."""

    proposal: ProposalView
    merged_commit: str
    fast_forward: bool
    worktree_updated: bool
    note: str


def _self_approval_allowed(session: LabSession) -> bool:
    """The lab's proposals.allow_self_approval at main (no, when main cannot be read)."""
    try:
        main = session.repo.references["refs/heads/main"].peel(pygit2.Commit)
        return load_commit(session.repo, main, session.cache).lab.spec.proposals.allow_self_approval
    except (DesiredStateError, KeyError, pygit2.GitError):
        return False


def _merge_lock(repo: pygit2.Repository) -> FileLock:
    from filelock import FileLock  # only a merge takes it: reading a plan never imports it

    return FileLock(str(Path(repo.path) / "homeport-merge.lock"), timeout=60)


def _worktree_clean_on_main(repo: pygit2.Repository) -> tuple[bool, str]:
    if repo.is_bare or repo.workdir is None:
        return False, "the lab repository is bare; nothing to update"
    if repo.head_is_detached or repo.head_is_unborn or repo.head.name != "refs/heads/main":
        return False, "the lab checkout is not on main, so it was left as it is"
    dirty = sorted(path for path, flags in repo.status().items() if flags != pygit2.enums.FileStatus.IGNORED)
    if dirty:
        shown = ", ".join(dirty[:5]) + (" ..." if len(dirty) > 5 else "")
        return False, (f"the lab checkout has uncommitted changes ({shown}), so it was left as it is; "
                       "run `git stash && git merge --ff-only` yourself when ready")
    return True, ""


def approve(session: LabSession, proposal_id: str, *, reviewer: str | None = None,
            reviewer_kind: str | None = None) -> MergeResult:
    """Merge an open proposal into main (fast-forward or merge commit); the reconciler then applies it."""
    reviewer = reviewer or session.actor
    reviewer_kind = reviewer_kind or session.actor_kind
    proposal = get_proposal(session.db, proposal_id)
    if proposal.status != "open":
        raise ReviewError(f"proposal {proposal.id} is {proposal.status}, not open; only open proposals can be "
                          "approved")
    if proposal.author == reviewer and not _self_approval_allowed(session):
        raise ReviewError(f"{reviewer} proposed {proposal.id} and may not also approve it: someone else must "
                          "review it (a lab may allow it with proposals.allow_self_approval: true)")
    repo = session.repo
    ref_name = f"refs/heads/{proposal.branch}"
    if ref_name not in repo.references:
        raise ReviewError(f"branch {proposal.branch} no longer exists; the proposal cannot be merged "
                          "(reject it and propose again)")
    head_id = repo.references[ref_name].target
    if str(head_id) != proposal.head_commit:
        raise ReviewError(f"branch {proposal.branch} moved since the proposal was made (now {str(head_id)[:12]}, "
                          f"reviewed {proposal.head_commit[:12]}); review the new commits and propose again")
    head = repo[head_id].peel(pygit2.Commit)
    if proposal.forge_url:
        return _merge_on_forge(session, proposal, reviewer, reviewer_kind)
    with _merge_lock(repo):
        main_ref = repo.references["refs/heads/main"]
        main_id = main_ref.target
        if main_id == head_id or repo.descendant_of(main_id, head_id):
            raise ReviewError(f"proposal {proposal.id} is already contained in main")
        fast_forward = main_id == head.parents[0].id if head.parents else False
        fast_forward = fast_forward or repo.descendant_of(head_id, main_id)
        if fast_forward:
            new_id = head_id
        else:
            index = repo.merge_commits(main_id, head_id)
            if index.conflicts is not None:
                paths = sorted({(entry[1] or entry[2] or entry[0]).path for entry in index.conflicts})
                raise ReviewError(
                    f"main changed the same lines as proposal {proposal.id} since it was made (conflicts in "
                    f"{', '.join(paths)}); reject it and propose again from the current main")
            tree_id = index.write_tree(repo)
            sig = signature(reviewer[:80].replace("<", "").replace(">", "") or "homeport", "review@homeport.invalid")
            new_id = repo.create_commit(None, sig, sig, f"Merge proposal {proposal.id}: {proposal.title}",
                                        tree_id, [main_id, head_id])
            try:
                load_commit(repo, repo[new_id].peel(pygit2.Commit))
            except DesiredStateError as exc:
                issues = "\n".join(f"  {i}" for i in exc.issues)
                raise ReviewError(f"merging proposal {proposal.id} into the current main gives an invalid "
                                  f"desired state, so nothing was merged:\n{issues}") from None
        clean, note = _worktree_clean_on_main(repo)
        main_ref.set_target(new_id, f"homeport: approve proposal {proposal.id}")
        worktree_updated = False
        if clean:
            repo.checkout_tree(repo[new_id].peel(pygit2.Commit).tree,  # type: ignore[no-untyped-call]
                               strategy=pygit2.enums.CheckoutStrategy.FORCE)
            repo.index.read_tree(repo[new_id].peel(pygit2.Commit).tree)
            repo.index.write()
            worktree_updated = True
            note = "the lab checkout was updated to the new main"
    with session.db.session() as s:
        s.execute(update(ProposalRow).where(ProposalRow.id == proposal.id)
                  .values(status="merged", merged_commit=str(new_id), reviewed_by=reviewer, updated_at=now_utc()))
        append_audit(s, lab=proposal.lab, entity_type="proposal", entity_id=proposal.id, action="proposal-approved",
                     actor=reviewer, actor_kind=reviewer_kind, tool="approve", proposal_id=proposal.id,
                     result={"merged_commit": str(new_id), "fast_forward": fast_forward,
                             "worktree_updated": worktree_updated})
    return MergeResult(get_proposal(session.db, proposal.id), str(new_id), fast_forward, worktree_updated, note)


def _merge_on_forge(session: LabSession, proposal: ProposalView, reviewer: str, reviewer_kind: str) -> MergeResult:
    """Merge the pull request on the forge (the forge is then the truth; the reconciler fetches main)."""
    from reconciler.phases.fetch import fetch
    from reconciler.phases.load import load
    from reconciler.proposals.forge import ForgeClient, ForgeError

    forge = load(session, fetch(session, None)).lab.spec.proposals.forge
    number = (proposal.forge_url or "").rstrip("/").rsplit("/", 1)[-1]
    if forge is None or not number.isdigit():
        raise ReviewError(f"proposal {proposal.id} has pull request {proposal.forge_url} but the lab has no forge "
                          "configured now; merge it on the forge")
    client = None
    try:
        client = ForgeClient(forge)
        sha = client.merge_pull_request(int(number), title=f"Merge proposal {proposal.id}: {proposal.title}")
    except ForgeError as exc:
        raise ReviewError(f"the forge did not merge {proposal.forge_url}: {exc}") from None
    finally:
        if client is not None:
            client.close()
    with session.db.session() as s:
        s.execute(update(ProposalRow).where(ProposalRow.id == proposal.id)
                  .values(status="merged", merged_commit=sha or None, reviewed_by=reviewer, updated_at=now_utc()))
        append_audit(s, lab=proposal.lab, entity_type="proposal", entity_id=proposal.id, action="proposal-approved",
                     actor=reviewer, actor_kind=reviewer_kind, tool="approve", proposal_id=proposal.id,
                     result={"merged_commit": sha, "forge_url": proposal.forge_url})
    return MergeResult(get_proposal(session.db, proposal.id), sha, False, False,
                       f"merged on the forge ({proposal.forge_url}); the reconciler applies it after fetching main")


def reject(session: LabSession, proposal_id: str, *, reviewer: str | None = None, reviewer_kind: str | None = None,
           reason: str | None = None) -> ProposalView:
    """Close an open proposal without merging (its branch is kept for the record)."""
    reviewer = reviewer or session.actor
    proposal = get_proposal(session.db, proposal_id)
    if proposal.status != "open":
        raise ReviewError(f"proposal {proposal.id} is {proposal.status}, not open")
    with session.db.session() as s:
        s.execute(update(ProposalRow).where(ProposalRow.id == proposal.id)
                  .values(status="rejected", reviewed_by=reviewer, updated_at=now_utc()))
        append_audit(s, lab=proposal.lab, entity_type="proposal", entity_id=proposal.id, action="proposal-rejected",
                     actor=reviewer, actor_kind=reviewer_kind or session.actor_kind, tool="reject",
                     proposal_id=proposal.id, result={"reason": reason or ""})
    return get_proposal(session.db, proposal.id)


def auto_merge_allowed(max_risk: Risk | None, proposal: ProposalView) -> bool:
    """Whether the lab's policy (proposals.auto_merge_max_risk) lets this proposal merge without a person."""
    return max_risk is not None and Risk(proposal.risk) <= max_risk


def merge_if_policy_allows(session: LabSession, proposal: ProposalView, max_risk: Risk | None) -> MergeResult | None:
    """Merge a fresh proposal when the lab's auto_merge_max_risk covers its risk; None otherwise."""
    if not auto_merge_allowed(max_risk, proposal):
        return None
    return approve(session, proposal.id, reviewer=f"policy:auto_merge_max_risk={max_risk.value if max_risk else ''}",
                   reviewer_kind="policy")
