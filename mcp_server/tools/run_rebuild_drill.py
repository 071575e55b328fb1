"""run-rebuild-drill: would Git alone bring the lab back? main applied onto simulated copies of the snapshot's
nodes (no guests) in a throwaway scratch lab; per resource, restored or not restorable and why."""

from __future__ import annotations

from pydantic import Field

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.toolspec import AgentError, ToolInput, ToolOutput, ToolSpec
from reconciler.service.drill import DrillItem, rebuild_drill
from reconciler.service.errors import ServiceError, agent_message


class Input(ToolInput):
    """Which snapshot's nodes to simulate."""

    snapshot_id: str | None = Field(default=None, max_length=64,
                                    description="Snapshot id or unique prefix; default: the latest snapshot")


class Output(ToolOutput):
    """The drill's score and one item per resource."""

    score: str
    rebuildable: int
    total: int
    revision: str
    snapshot_id: str | None
    items: list[DrillItem]
    notes: list[str]
    report_id: str | None = None


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """Run the drill on a scratch lab (nothing touches the real providers; the report is stored)."""
    try:
        report = rebuild_drill(app.service, snapshot_id=args.snapshot_id)
    except ServiceError as exc:
        raise AgentError(agent_message(exc)) from None
    lines = [report.score]
    for item in report.items:
        if item.status == "not restorable":
            lines.append(f"- {item.resource}: " + "; ".join(f"{r.kind}: {r.message}" for r in item.reasons))
    return Output(summary="\n".join(lines[:40]), score=report.score, rebuildable=report.rebuildable,
                  total=report.total, revision=report.revision, snapshot_id=report.snapshot_id, items=report.items,
                  notes=report.notes, report_id=report.id)


SPEC = ToolSpec(name="run-rebuild-drill", title="Run a rebuild drill",
                description="Rebuild main from Git alone onto simulated copies of the latest snapshot's nodes (no "
                            "guests) in a throwaway scratch lab and say, per resource, whether it comes back and why "
                            "not (render, apply, secret reference, drift never adopted, data without a known backup, "
                            "values only known live), with a score. Touches no real provider; the report is "
                            "stored (report_id: `homeport drill show ID`, GET /api/v1/drills/ID).",
                scope="read", toolset="read", input=Input, output=Output, run=run,
                read_only=False, destructive=False, idempotent=False)
