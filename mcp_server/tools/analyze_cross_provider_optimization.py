"""analyze-cross-provider-optimization: what each resource costs now and where it would cost less."""

from __future__ import annotations

from pydantic import Field

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.toolspec import ToolInput, ToolOutput, ToolSpec
from reconciler.service.optimize import ResourceCost, analyze


class Input(ToolInput):
    """Optional filter."""

    resources: list[str] = Field(default_factory=list, description="Only these resources (default: all)")


class Output(ToolOutput):
    """Per resource: cost (with source), utilisation, cheaper placements that fit, move or stay."""

    revision: str
    findings: list[str]
    totals: dict[str, float] = Field(description="Monthly cost per currency of the priced resources")
    unpriced: list[str]
    resources: list[ResourceCost]


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """Observe once, cost every resource, recommend."""
    state = app.state()
    result = analyze(state, app.observe(state).inventories)
    rows = [r for r in result.resources if not args.resources or r.resource in args.resources]
    moves = [r for r in rows if r.recommendation == "move"]
    summary = (f"{len(moves)} resource(s) could move to owned hardware: "
               + ", ".join(f"{r.resource} ({r.environment}, {r.cost.monthly} {r.cost.currency}/month now)"
                           for r in moves) if moves else "no move recommended: ")
    summary += "; production stays put" + (f"; {len(result.unpriced)} without a cost figure" if result.unpriced
                                           else "")
    return Output(summary=summary, revision=result.revision, findings=result.findings, totals=result.totals,
                  unpriced=result.unpriced, resources=rows)


SPEC = ToolSpec(name="analyze-cross-provider-optimization", title="Analyze cost across providers",
                description="Per resource: monthly cost (cited cloud prices; on-prem power from node_watts and "
                            "the kWh price, else 'no figure'), utilisation, cheaper placements that fit now.",
                scope="read", toolset="optimize", input=Input, output=Output, run=run,
                read_only=True, destructive=False, idempotent=True)
