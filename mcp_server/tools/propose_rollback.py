"""propose-rollback: a proposal returning main to a previously applied revision (a revert commit)."""

from __future__ import annotations

from pydantic import Field

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.definitions import ProposalSummary
from mcp_server.toolspec import AgentError, ToolInput, ToolOutput, ToolSpec
from reconciler.service.edits import check_text
from reconciler.service.errors import ServiceError
from reconciler.service.rollback import propose_rollback


class Input(ToolInput):
    """Where to roll back to."""

    to_revision: str | None = Field(default=None, max_length=64, description="An applied revision (commit id); "
                                    "default: the one applied before main's")
    reason: str | None = Field(default=None, max_length=4000, description="Why: shown to the reviewer")


class Output(ToolOutput):
    """The rollback proposal and its plan preview."""

    rollback_to: str
    proposal: ProposalSummary


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """Open the proposal; it never merges by itself (a person approves a rollback)."""
    if args.reason:
        check_text(args.reason, "reason", multiline=True)
    try:
        proposal = propose_rollback(app.service, to=args.to_revision, reason=args.reason,
                                    author=caller.actor, author_kind=caller.kind)
    except ServiceError as exc:
        raise AgentError(str(exc)) from None
    target = str(proposal.evidence.get("rollback_to", ""))
    return Output(summary=f"proposal {proposal.id}: {proposal.title}; risk {proposal.risk}; a person approves it, "
                          "then the reconciler applies it (deletes included, within the prune guards)",
                  rollback_to=target, proposal=ProposalSummary.of(proposal))


SPEC = ToolSpec(name="propose-rollback", title="Propose a rollback",
                description="Opens a proposal returning main to a previously applied revision (a revert commit, "
                            "never a force-push) with its plan preview. Once a person merges it, it is applied.",
                scope="propose", toolset="propose", input=Input, output=Output, run=run, read_only=False,
                destructive=True, idempotent=False)
