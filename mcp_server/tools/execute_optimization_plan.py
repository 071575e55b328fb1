"""execute-optimization-plan: one proposal per step of the migration plan (never a live change).

auto_approve_under_threshold only narrows the lab's auto-merge policy: a step's proposal merges at once
only when its monthly amount is under the threshold AND proposals.auto_merge_max_risk allows its risk.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.definitions import ProposalSummary
from mcp_server.proposing import submit_proposal
from mcp_server.toolspec import AgentError, ToolInput, ToolOutput, ToolSpec
from reconciler.service import edits
from reconciler.service.edits import check_text, set_path
from reconciler.service.optimize import analyze, plan_migration


class Input(ToolInput):
    """Which plan and how much may merge without a person."""

    plan_id: str | None = Field(default=None, max_length=12, description="From plan-multi-provider-migration; "
                                "refused when main changed since (default: the current plan)")
    auto_approve_under_threshold: float | None = Field(default=None, ge=0, description="Monthly amount (USD) "
                                                       "under which a step may auto-merge, within the lab's "
                                                       "auto-merge policy (never beyond it)")
    steps: list[int] = Field(default_factory=list, description="Only these step numbers (default: all)")
    reason: str | None = Field(default=None, max_length=4000, description="Why: shown to the reviewer")


class StepResult(BaseModel):
    """What happened to one step."""

    order: int
    resource: str
    proposal: ProposalSummary
    auto_merge: str


class Output(ToolOutput):
    """The proposals opened."""

    plan_id: str
    lab_auto_merge_max_risk: str | None
    results: list[StepResult]


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """Recompute the plan, check it is the one the agent saw, open a proposal per step."""
    if args.reason:
        check_text(args.reason, "reason", multiline=True)
    state = app.state()
    plan = plan_migration(state, analyze(state, app.observe(state).inventories))
    if args.plan_id and args.plan_id != plan.plan_id:
        raise AgentError(f"plan {args.plan_id} is out of date (main or capacity changed; the current plan is "
                         f"{plan.plan_id}): call plan-multi-provider-migration again and review it")
    if not plan.steps:
        raise AgentError("the plan has no steps: nothing to execute")
    policy = state.lab.spec.proposals.auto_merge_max_risk
    results: list[StepResult] = []
    for step in plan.steps:
        if args.steps and step.order not in args.steps:
            continue

        def move(doc: Any, to_pool: str = step.to_pool) -> None:
            set_path(doc, ["spec", "pool"], to_pool)
            placement = doc.get("spec", {}).get("placement")
            if isinstance(placement, dict) and "node" in placement:
                set_path(doc, ["spec", "placement", "node"], None)

        path, data = edits.edit_object(app.service, state, "UniversalResource", step.resource, move)
        under = args.auto_approve_under_threshold is not None and step.amount_usd < args.auto_approve_under_threshold
        title = f"Move {step.resource} to {step.to_pool} (optimization plan {plan.plan_id}, step {step.order})"
        proposal = submit_proposal(app, caller, title=title[:200], edits={path: data},
                                   reason=args.reason or f"cost optimization: {step.risk_reason}",
                                   evidence={"tool": "execute-optimization-plan", "plan_id": plan.plan_id,
                                             "step": step.model_dump()}, auto_merge=under)
        if proposal.status == "merged":
            how = f"merged: {step.amount_usd} USD < threshold and risk {proposal.risk} within the lab's policy"
        elif not under:
            how = "waits for a person: " + ("no threshold given" if args.auto_approve_under_threshold is None
                                             else f"{step.amount_usd} USD is not under the threshold")
        else:
            how = (f"waits for a person: the lab's auto_merge_max_risk ({policy}) does not cover risk "
                   f"{proposal.risk}; the threshold never widens the lab's policy")
        results.append(StepResult(order=step.order, resource=step.resource, proposal=ProposalSummary.of(proposal),
                                  auto_merge=how))
    merged = sum(1 for r in results if r.proposal.status == "merged")
    return Output(summary=f"plan {plan.plan_id}: {len(results)} proposal(s), {merged} auto-merged, "
                          f"{len(results) - merged} waiting for a person",
                  plan_id=plan.plan_id, lab_auto_merge_max_risk=policy, results=results)


SPEC = ToolSpec(name="execute-optimization-plan", title="Execute an optimization plan (as proposals)",
                description="Opens one proposal per plan step. auto_approve_under_threshold (USD/month) lets "
                            "a step auto-merge only within the lab's auto-merge policy, never beyond it.",
                scope="propose", toolset="optimize", input=Input, output=Output, run=run, read_only=False,
                destructive=True, idempotent=False)
