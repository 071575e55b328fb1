"""Creating a proposal: one commit on a new branch `proposals/<id>-<slug>`, a plan preview, a row.

Branch creation is atomic (libgit2 writes the ref through a lock file and refuses an existing name), and
each proposal gets a fresh id, so two agents proposing at once never lose a commit. Main is never moved here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import pygit2

from reconciler.models.desired import DesiredState
from reconciler.phases.context import LabSession
from reconciler.phases.load import load
from reconciler.phases.observe import Observation, observe_all
from reconciler.phases.run import PlanError
from reconciler.proposals.names import BRANCH_PREFIX, ProposalInputError, check_repo_path, check_text, slugify
from reconciler.proposals.preview import PreviewMemo, plan_preview, preview_plan, rendered_diff, split_pending
from reconciler.proposals.records import ProposalView
from reconciler.source.errors import DesiredStateError, GitSourceError
from reconciler.source.gitrepo import commit_tree_changes, read_path, resolve_commit, signature
from reconciler.store.audit import append_audit
from reconciler.store.tables import ProposalRow, now_utc


@dataclass
class ProposalDraft:
    """What a proposal changes and why."""

    title: str
    edits: dict[str, bytes | None]
    reason: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


class ProposalRefused(ValueError):
    """The proposed change cannot become a proposal (invalid desired state, nothing changes, render fails)."""


def main_commit(session: LabSession) -> pygit2.Commit:
    """The tip of the lab's main branch."""
    return resolve_commit(session.repo, "refs/heads/main")


def file_at_main(session: LabSession, path: str) -> bytes | None:
    """A desired-state file's bytes on main (None when absent)."""
    return read_path(session.repo, main_commit(session), check_repo_path(path))


def propose(session: LabSession, draft: ProposalDraft, *, author: str | None = None,
            author_kind: str | None = None, base: pygit2.Commit | None = None,
            observation: Observation | None = None, memo: PreviewMemo | None = None,
            base_state: DesiredState | None = None) -> ProposalView:
    """Write the commit, check it loads and renders, create the branch, store the preview; return the proposal.

    `observation` and `memo`: a fresh observation the caller already holds and the memo of main's plan
    against it (see preview_plan); without them the providers are observed now. `base_state`: the
    already loaded state of `base` (main by default), when the caller holds it.
    """
    author = author or session.actor
    author_kind = author_kind or session.actor_kind
    check_text(draft.title, "title", limit=200)
    if not draft.title.strip():
        raise ProposalInputError("title is empty; say in a few words what the proposal does")
    if draft.reason:
        check_text(draft.reason, "reason", limit=4000, multiline=True)
    if not draft.edits:
        raise ProposalInputError("the proposal changes no file")
    for path in draft.edits:
        check_repo_path(path)
    base = base or main_commit(session)
    message = draft.title + (f"\n\n{draft.reason}" if draft.reason else "") + f"\n\nProposed-by: {author}\n"
    sig = signature(author[:80].replace("<", "").replace(">", "") or "homeport", "agent@homeport.invalid")
    head_oid = commit_tree_changes(session.repo, base, draft.edits, message, sig)
    head = session.repo[head_oid].peel(pygit2.Commit)
    if head.tree.id == base.tree.id:
        raise ProposalRefused("the proposal changes nothing: the files already hold these values on main")
    if base_state is None or base_state.revision != str(base.id):
        try:
            base_state = load(session, _revision(session, base))
        except DesiredStateError:
            base_state = None
    if base_state is not None:
        # main's own plan against the same observation: what it holds is reported apart, not as the proposal's
        memo = memo if memo is not None else PreviewMemo()
        observation = observation if observation is not None else observe_all(session, base_state)
    try:
        head_state, plan = preview_plan(session, str(head_oid), observation, base_state, memo, draft.edits)
    except DesiredStateError as exc:
        raise ProposalRefused("the change would make the desired state invalid, so no proposal was made:\n"
                              + "\n".join(f"  {i}" for i in exc.issues)) from None
    except (PlanError, GitSourceError) as exc:
        raise ProposalRefused(f"the change cannot be planned, so no proposal was made: {exc}") from None
    main_plan = memo.plan if memo is not None and base_state is not None and memo.revision == base_state.revision \
        else None
    plan, pending = split_pending(plan, main_plan)
    preview = plan_preview(plan, pending)
    diff = rendered_diff(session, base_state, head_state, plan)
    proposal_id = uuid.uuid4().hex[:12]
    branch = f"{BRANCH_PREFIX}{proposal_id}-{slugify(draft.title)}"
    session.repo.references.create(f"refs/heads/{branch}", head_oid, force=False)
    row = ProposalRow(id=proposal_id, lab=head_state.lab_name, title=draft.title, branch=branch,
                      base_commit=str(base.id), head_commit=str(head_oid), author=author, reason=draft.reason,
                      evidence=draft.evidence, files=sorted(draft.edits), plan=preview,
                      risk=plan.risk.value, rendered_diff=diff, status="open", created_at=now_utc())
    with session.db.session() as s:
        s.add(row)
        s.flush()
        append_audit(s, lab=row.lab, entity_type="proposal", entity_id=proposal_id, action="proposal-created",
                     actor=author, actor_kind=author_kind, tool="propose", proposal_id=proposal_id,
                     arguments={"title": draft.title, "files": sorted(draft.edits)},
                     result={"branch": branch, "head": str(head_oid), "risk": row.risk, "counts": preview["counts"]})
        view = ProposalView.from_row(row)
    forge = result_state_forge(head_state)
    if forge is not None:
        view = open_on_forge(session, view, forge)
    return view


def result_state_forge(state: Any) -> Any:
    """The lab's forge settings (None: proposals stay local)."""
    return state.lab.spec.proposals.forge


def open_on_forge(session: LabSession, view: ProposalView, forge: Any) -> ProposalView:
    """Push the branch and open a pull request; on failure the proposal stays local and the audit says why."""
    from sqlalchemy import update

    from reconciler.proposals.forge import ForgeClient, ForgeError
    from reconciler.proposals.prbody import pull_request_body

    client = None
    try:
        client = ForgeClient(forge)
        client.push(session.repo, view.branch)
        pr = client.open_pull_request(title=view.title, head=view.branch, base="main",
                                      body=pull_request_body(view, agent=session.actor_kind == "agent"
                                                             or view.author.startswith("agent")))
    except ForgeError as exc:
        with session.db.session() as s:
            append_audit(s, lab=view.lab, entity_type="proposal", entity_id=view.id, action="forge-failed",
                         actor=view.author, actor_kind="system", tool="propose", proposal_id=view.id,
                         outcome="error", result={"error": str(exc)[:1000]})
        return view
    finally:
        if client is not None:
            client.close()
    with session.db.session() as s:
        s.execute(update(ProposalRow).where(ProposalRow.id == view.id).values(forge_url=pr.url))
    return view.model_copy(update={"forge_url": pr.url})


def _revision(session: LabSession, commit: pygit2.Commit) -> Any:
    from reconciler.phases.fetch import fetch

    return fetch(session, str(commit.id))
