"""list-proposals: the lab's proposals with status and risk."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.definitions import ProposalSummary
from mcp_server.toolspec import ToolInput, ToolOutput, ToolSpec
from reconciler.service import queries


class Input(ToolInput):
    """Filter."""

    status: Literal["open", "merged", "rejected"] | None = Field(default=None, description="Only this status")
    limit: int = Field(default=50, ge=1, le=500, description="At most this many, newest first")


class Output(ToolOutput):
    """Proposals, newest first."""

    proposals: list[ProposalSummary]


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """Read the proposals table."""
    items = queries.proposals(app.service, status=args.status, limit=args.limit)
    return Output(summary=f"{len(items)} proposal(s)" + "".join(f"\n- {p.summary()}" for p in items[:20]),
                  proposals=[ProposalSummary.of(p) for p in items])


SPEC = ToolSpec(name="list-proposals", title="List proposals",
                description="The lab's proposals (id, branch, status, risk, change counts), newest first.",
                scope="read", toolset="read", input=Input, output=Output, run=run,
                read_only=True, destructive=False, idempotent=True)
