"""approve-proposal: merge a proposal into main. Only for tokens with the `approve` scope (people)."""

from __future__ import annotations

from pydantic import Field

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.toolspec import ToolInput, ToolOutput, ToolSpec
from reconciler.service import commands
from reconciler.service.edits import check_proposal_id


class Input(ToolInput):
    """Which proposal."""

    proposal_id: str = Field(description="Id from list-proposals")


class Output(ToolOutput):
    """The merge."""

    proposal_id: str
    merged_commit: str
    fast_forward: bool
    worktree_updated: bool
    note: str


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """Merge as the token's owner; the reconciler applies it on its next run."""
    result = commands.approve(app.service, check_proposal_id(args.proposal_id), reviewer=caller.actor,
                              reviewer_kind="human")
    return Output(summary=f"merged proposal {result.proposal.id} into main ({result.merged_commit[:12]}); "
                          f"{result.note}; the next reconcile applies it",
                  proposal_id=result.proposal.id, merged_commit=result.merged_commit,
                  fast_forward=result.fast_forward, worktree_updated=result.worktree_updated, note=result.note)


SPEC = ToolSpec(name="approve-proposal", title="Approve (merge) a proposal",
                description="Merges an open proposal into main (fast-forward or merge commit). Needs the "
                            "'approve' scope, which agents' tokens never get.",
                scope="approve", toolset="admin", input=Input, output=Output, run=run, read_only=False,
                destructive=True, idempotent=False)
