"""list-proposals: the lab's proposals with status and risk, newest first, a page at a time."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.definitions import ProposalSummary
from mcp_server.paging import MAX_LIMIT, PageInput, page
from mcp_server.toolspec import ToolOutput, ToolSpec
from reconciler.service import queries
from reconciler.service.views import ProposalView

NAME = "list-proposals"
SCANNED = 5000  # newest proposals a listing pages through


class Input(PageInput):
    """Filter."""

    status: Literal["open", "merged", "rejected"] | None = Field(default=None, description="Only this status")
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT, description="Items per page, newest first")


class Output(ToolOutput):
    """Proposals, newest first."""

    proposals: list[dict[str, Any]]
    total: int = 0
    next_cursor: str | None = None


def _key(p: ProposalView) -> tuple[float, str]:
    return (-(p.created_at.timestamp() if p.created_at else 0.0), p.id)


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """Read the proposals table; page it."""
    items = queries.proposals(app.service, status=args.status, limit=SCANNED)
    listing = page(NAME, items, args, sort_key=_key, filters={"status": args.status},
                   as_dict=lambda p: ProposalSummary.of(p).model_dump(mode="json"),
                   known=tuple(ProposalSummary.model_fields))
    shown = {p["proposal_id"] for p in listing.items if "proposal_id" in p}
    lines = "".join(f"\n- {p.summary()}" for p in [p for p in items if p.id in shown][:20])
    return Output(summary=f"{listing.total} proposal(s); this page: {len(listing.items)}" + lines,
                  proposals=listing.items, total=listing.total, next_cursor=listing.next_cursor)


SPEC = ToolSpec(name=NAME, title="List proposals",
                description="The lab's proposals (id, branch, status, risk, change counts), newest first.",
                scope="read", toolset="read", input=Input, output=Output, run=run,
                read_only=True, destructive=False, idempotent=True)
