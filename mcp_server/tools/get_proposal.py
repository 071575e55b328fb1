"""get-proposal: one proposal with its plan preview, risk, rendered diff and review state."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.toolspec import ToolInput, ToolOutput, ToolSpec
from reconciler.service import queries
from reconciler.service.edits import check_proposal_id


class Input(ToolInput):
    """Which proposal."""

    proposal_id: str = Field(description="Id from list-proposals or a proposing tool")
    include_diff: bool = Field(default=True, description="Include the rendered diff")


class Output(ToolOutput):
    """The proposal."""

    proposal_id: str
    title: str
    branch: str
    status: str
    risk: str
    author: str
    reason: str | None
    plan: dict[str, Any]
    rendered_diff: str | None
    files: list[str]
    reviewed_by: str | None
    merged_commit: str | None
    forge_url: str | None
    evidence: dict[str, Any] = Field(default_factory=dict)


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """Read one proposal."""
    p = queries.proposal(app.service, check_proposal_id(args.proposal_id))
    return Output(summary=p.summary(), proposal_id=p.id, title=p.title, branch=p.branch, status=p.status, risk=p.risk,
                  author=p.author, reason=p.reason, plan=p.plan, rendered_diff=p.rendered_diff if args.include_diff
                  else None, files=p.files, reviewed_by=p.reviewed_by, merged_commit=p.merged_commit,
                  forge_url=p.forge_url, evidence=p.evidence)


SPEC = ToolSpec(name="get-proposal", title="Get a proposal",
                description="One proposal: plan preview (changes, risk), rendered diff, files, review state.",
                scope="read", toolset="read", input=Input, output=Output, run=run,
                read_only=True, destructive=False, idempotent=True)
