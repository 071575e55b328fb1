"""Turning a tool's file edits into a proposal (and auto-merging it when the lab's policy allows)."""

from __future__ import annotations

from typing import Any

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from reconciler.service import commands
from reconciler.service.edits import ProposalDraft
from reconciler.service.views import ProposalView


def submit_proposal(app: HomeportApp, caller: Caller, *, title: str, edits: dict[str, bytes | None],
                    reason: str | None, evidence: dict[str, Any], auto_merge: bool = True) -> ProposalView:
    """Create the proposal as the caller; the lab's proposals.auto_merge_max_risk may merge it at once
    (auto_merge=False: never, whatever the policy)."""
    return commands.propose(app.service, ProposalDraft(title=title, edits=edits, reason=reason, evidence=evidence),
                            author=caller.actor, author_kind=caller.kind, auto_merge=auto_merge)
