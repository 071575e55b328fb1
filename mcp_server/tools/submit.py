"""Turning a tool's file edits into a proposal (and auto-merging it when the lab's policy allows)."""

from __future__ import annotations

from typing import Any

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from reconciler.proposals.create import ProposalDraft, propose
from reconciler.proposals.records import ProposalView, get_proposal
from reconciler.proposals.review import merge_if_policy_allows


def submit_proposal(app: HomeportApp, caller: Caller, *, title: str, edits: dict[str, bytes | None],
                    reason: str | None, evidence: dict[str, Any], auto_merge: bool = True) -> ProposalView:
    """Create the proposal as the caller; the lab's proposals.auto_merge_max_risk may merge it at once
    (auto_merge=False: never, whatever the policy)."""
    state = app.state()
    proposal = propose(app.session, ProposalDraft(title=title, edits=edits, reason=reason, evidence=evidence),
                       author=caller.actor, author_kind=caller.kind, observation=app.recent_observation(state),
                       memo=app.preview_memo, base_state=state)
    policy = state.lab.spec.proposals.auto_merge_max_risk
    if auto_merge and merge_if_policy_allows(app.session, proposal, policy) is not None:
        return get_proposal(app.session.db, proposal.id)
    return proposal
