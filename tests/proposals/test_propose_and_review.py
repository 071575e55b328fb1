"""Proposals end to end against real Git: one commit on a new branch, plan preview, merge, refusals."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest
from sqlalchemy import select

from reconciler.models.plan import Risk
from reconciler.phases.context import LabSession
from reconciler.phases.fetch import fetch
from reconciler.phases.load import load
from reconciler.proposals.create import ProposalDraft, ProposalRefused, propose
from reconciler.proposals.edits import new_object_edit, object_edit
from reconciler.proposals.names import ProposalInputError
from reconciler.proposals.records import ProposalNotFound, get_proposal, list_proposals
from reconciler.proposals.review import ReviewError, approve, merge_if_policy_allows, reject
from reconciler.proposals.yamledit import set_path
from reconciler.source.gitrepo import commit_tree_changes
from reconciler.store.tables import AuditLogRow
from tests.backends.homeport_lab import branches, main_tip

POOL = "/infrastructure/on-premise/sim/compute"


def _new(session: LabSession, name: str) -> ProposalDraft:
    state = load(session, fetch(session, None))
    path, data = new_object_edit(state, "UniversalResource", name, {"pool": POOL, "requirements": {"cpu": 1,
                                                                                                 "memory_gb": 1}})
    return ProposalDraft(title=f"Add {name}", edits={path: data}, reason="test", evidence={"k": "v"})


def _grow(session: LabSession, name: str, cpu: int) -> ProposalDraft:
    state = load(session, fetch(session, None))
    path, data = object_edit(session.repo, state, "UniversalResource", name,
                             lambda d: set_path(d, ["spec", "requirements", "cpu"], cpu))
    return ProposalDraft(title=f"Grow {name}", edits={path: data})


def _commit_on_main(session: LabSession, path: str, data: bytes) -> None:
    repo = session.repo
    main = repo.references["refs/heads/main"]
    oid = commit_tree_changes(repo, repo[main.target], {path: data}, "a person's commit")
    main.set_target(oid)
    repo.checkout_tree(repo[oid].tree, strategy=pygit2.enums.CheckoutStrategy.FORCE)
    repo.index.read_tree(repo[oid].tree)
    repo.index.write()


def test_propose_makes_one_commit_on_a_branch_and_stores_the_preview(session: LabSession, lab: Path) -> None:
    """The branch holds one commit on top of main; main and the checkout are untouched; the row and audit exist."""
    base = main_tip(lab)
    p = propose(session, _new(session, "grafana"))
    assert p.branch.startswith(f"proposals/{p.id}-add-grafana") and p.status == "open"
    head = session.repo[branches(lab)[p.branch]]
    assert [str(x) for x in head.parent_ids] == [base] and main_tip(lab) == base
    assert not (lab / "resources" / "grafana.yaml").exists()
    assert p.plan["counts"]["create"] == 1 and p.risk == "medium" and p.plan["changes"][0]["resource"] == "grafana"
    assert "+name: grafana" in (p.rendered_diff or "")
    assert "Proposed-by: agent:test" in head.message
    assert [v.id for v in list_proposals(session.db, "home")] == [p.id]
    with session.db.session() as s:
        row = s.execute(select(AuditLogRow).where(AuditLogRow.proposal_id == p.id)).scalar_one()
    assert row.action == "proposal-created" and row.actor == "agent:test"


def test_fast_forward_approve_updates_a_clean_checkout(session: LabSession, lab: Path) -> None:
    """main had not moved: fast-forward; the clean checkout follows."""
    p = propose(session, _new(session, "grafana"))
    merged = approve(session, p.id, reviewer="human:ann")
    assert merged.fast_forward and merged.worktree_updated and main_tip(lab) == p.head_commit
    assert (lab / "resources" / "grafana.yaml").is_file()
    stored = get_proposal(session.db, p.id)
    assert stored.status == "merged" and stored.reviewed_by == "human:ann"
    with pytest.raises(ReviewError, match="is merged, not open"):
        approve(session, p.id, reviewer="human:ann")


def test_main_moved_elsewhere_gives_a_merge_commit(session: LabSession, lab: Path) -> None:
    """A person changed another file meanwhile: a merge commit with both parents, both changes kept."""
    p = propose(session, _new(session, "grafana"))
    state = load(session, fetch(session, None))
    path, data = object_edit(session.repo, state, "UniversalResource", "web-frontend",
                             lambda d: set_path(d, ["spec", "dimensions"], {"team": "web"}))
    _commit_on_main(session, path, data)
    moved = main_tip(lab)
    merged = approve(session, p.id, reviewer="human:ann")
    assert not merged.fast_forward
    commit = session.repo[merged.merged_commit]
    assert [str(x) for x in commit.parent_ids] == [moved, p.head_commit]
    assert "resources/grafana.yaml" in commit.tree and b"team: web" in commit.tree[path].data


def test_conflicting_change_on_main_is_refused(session: LabSession, lab: Path) -> None:
    """The same line changed on main: refused with a clear message, main unchanged."""
    p = propose(session, _grow(session, "web-frontend", 6))
    draft = _grow(session, "web-frontend", 3)
    (path, data), = draft.edits.items()
    assert data is not None
    _commit_on_main(session, path, data)
    tip = main_tip(lab)
    with pytest.raises(ReviewError, match=r"main changed the same lines .* resources/web-frontend.yaml"):
        approve(session, p.id, reviewer="human:ann")
    assert main_tip(lab) == tip and get_proposal(session.db, p.id).status == "open"


def test_dirty_checkout_is_left_alone(session: LabSession, lab: Path) -> None:
    """Uncommitted edits in the lab checkout: main is merged, the files are not touched, and the note says so."""
    p = propose(session, _new(session, "grafana"))
    notes = lab / "resources" / "web-frontend.yaml"
    notes.write_text(notes.read_text() + "# my local edit\n")
    merged = approve(session, p.id, reviewer="human:ann")
    assert not merged.worktree_updated and "uncommitted changes" in merged.note
    assert main_tip(lab) == p.head_commit and notes.read_text().endswith("# my local edit\n")
    assert not (lab / "resources" / "grafana.yaml").exists()


def test_moved_branch_and_reject(session: LabSession, lab: Path) -> None:
    """A branch moved after the proposal is not merged on the old review; reject closes a proposal."""
    p = propose(session, _new(session, "grafana"))
    ref = session.repo.references[f"refs/heads/{p.branch}"]
    other = commit_tree_changes(session.repo, session.repo[ref.target], {"resources/extra.yaml": b"x: 1\n"}, "sneaky")
    ref.set_target(other)
    with pytest.raises(ReviewError, match="moved since the proposal was made"):
        approve(session, p.id, reviewer="human:ann")
    q = propose(session, _new(session, "loki"))
    assert reject(session, q.id, reviewer="human:ann", reason="not now").status == "rejected"
    with pytest.raises(ReviewError, match="is rejected, not open"):
        approve(session, q.id, reviewer="human:ann")
    with pytest.raises(ProposalNotFound, match="no proposal 'feedface00'"):
        approve(session, "feedface00")


def test_invalid_and_empty_proposals_write_no_branch(session: LabSession, lab: Path) -> None:
    """A change that breaks the desired state, or changes nothing, makes no branch and no row."""
    bad = ProposalDraft(title="Break it", edits={"resources/bad.yaml": b"apiVersion: homelab.ai/v1\n"
                                                 b"kind: UniversalResource\nmetadata: {name: bad}\n"
                                                 b"spec: {pool: /nowhere}\n"})
    with pytest.raises(ProposalRefused, match="desired state invalid"):
        propose(session, bad)
    same = session.repo.revparse_single("main:resources/web-frontend.yaml").data
    with pytest.raises(ProposalRefused, match="changes nothing"):
        propose(session, ProposalDraft(title="Same", edits={"resources/web-frontend.yaml": same}))
    with pytest.raises(ProposalInputError, match="not allowed"):
        propose(session, ProposalDraft(title="Escape", edits={"../outside.yaml": b"x: 1\n"}))
    assert branches(lab) == {} and list_proposals(session.db, "home") == []


def test_auto_merge_policy(session: LabSession, lab: Path) -> None:
    """auto_merge_max_risk merges proposals at or below it, and leaves riskier ones open."""
    low = propose(session, ProposalDraft(title="dims", edits=dict([object_edit(
        session.repo, load(session, fetch(session, None)), "UniversalResource", "web-frontend",
        lambda d: set_path(d, ["spec", "dimensions"], {"team": "web"}))])))
    assert low.risk == "low"
    assert merge_if_policy_allows(session, low, None) is None
    merged = merge_if_policy_allows(session, low, Risk.low)
    assert merged is not None and merged.proposal.reviewed_by == "policy:auto_merge_max_risk=low"
    medium = propose(session, _new(session, "grafana"))
    assert merge_if_policy_allows(session, medium, Risk.low) is None
    assert get_proposal(session.db, medium.id).status == "open"
