"""whatif-proposal: run an open proposal on a simulated copy of the live lab before anyone merges it."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.toolspec import AgentError, ToolInput, ToolOutput, ToolSpec
from reconciler.service.edits import check_proposal_id
from reconciler.service.errors import ServiceError, agent_message
from reconciler.service.whatif import NodeChange, PendingFit, Placement, whatif_proposal
from reconciler.service.whatif_cost import CostChange


class Input(ToolInput):
    """Which proposal."""

    proposal_id: str = Field(description="Id from list-proposals or a proposing tool")


class Output(ToolOutput):
    """The what-if: plan, placements, capacity before and after, proposals that would no longer fit, cost."""

    proposal_id: str
    plan: dict[str, Any]
    placements: list[Placement]
    nodes: list[NodeChange]
    over_ratio: list[str]
    no_longer_fit: list[PendingFit]
    cost: CostChange
    failed: list[str]
    notes: list[str]
    report_markdown: str


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """Simulate main then the proposal on a scratch lab seeded from the live providers it touches."""
    try:
        report = whatif_proposal(app.service, check_proposal_id(args.proposal_id), actor=caller.actor,
                                 actor_kind=caller.kind)
    except ServiceError as exc:
        raise AgentError(agent_message(exc)) from None
    return Output(summary=report.summary, proposal_id=report.proposal_id, plan=report.plan,
                  placements=report.placements, nodes=[n for n in report.nodes if n.before != n.after or n.over_after],
                  over_ratio=report.over_ratio, no_longer_fit=report.no_longer_fit, cost=report.cost,
                  failed=report.failed, notes=report.notes, report_markdown=report.markdown())


SPEC = ToolSpec(name="whatif-proposal", title="What-if of a proposal",
                description="Run an open proposal on a simulated copy of the live lab (the providers it touches: "
                            "nodes, capacity, every guest with its allocation): apply main, then the proposal. "
                            "Returns the plan, where new or moved resources land, per-node allocation against "
                            "capacity x ratio before and after, which other open proposals would no longer fit, "
                            "and the monthly cost change. The report is stored with the proposal (review page, PR "
                            "body). Changes no live infrastructure.",
                scope="read", toolset="read", input=Input, output=Output, run=run, read_only=False,
                destructive=False, idempotent=True)
