"""plan-multi-provider-migration: the analysis's moves as an ordered plan with saving and risk per step."""

from __future__ import annotations

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.toolspec import ToolInput, ToolOutput, ToolSpec
from reconciler.service.optimize import MigrationPlan, analyze, plan_migration


class Input(ToolInput):
    """No arguments: the plan is computed from main and a fresh observation."""


class Output(ToolOutput):
    """The ordered plan; pass plan_id to execute-optimization-plan."""

    plan: MigrationPlan


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """Analyze, then order the moves (lowest risk first, then the largest saving)."""
    state = app.state()
    plan = plan_migration(state, analyze(state, app.observe(state).inventories))
    saving = ", ".join(f"{v:+g} {c}/month" for c, v in plan.monthly_saving.items()) or "nothing"
    summary = (f"plan {plan.plan_id}: {len(plan.steps)} step(s), saving {saving}: "
               + "; ".join(f"{s.order}. {s.resource} -> {s.to_pool} ({s.risk} risk)" for s in plan.steps)
               if plan.steps else f"plan {plan.plan_id}: nothing to move")
    return Output(summary=summary, plan=plan)


SPEC = ToolSpec(name="plan-multi-provider-migration", title="Plan a multi-provider migration",
                description="Ordered migration plan from analyze-cross-provider-optimization: per step the "
                            "move, monthly saving per currency and risk. A read; execute-optimization-plan acts.",
                scope="read", toolset="optimize", input=Input, output=Output, run=run,
                read_only=True, destructive=False, idempotent=True)
