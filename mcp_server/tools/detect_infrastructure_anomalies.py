"""detect-infrastructure-anomalies: drift, failures, full nodes and unreachable providers, with evidence."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mcp_server.advisor.anomalies import Anomaly, find_anomalies
from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.toolspec import ToolInput, ToolOutput, ToolSpec
from reconciler.service import queries


class Input(ToolInput):
    """Window and sensitivity."""

    analysis_window_hours: float = Field(default=24, gt=0, le=24 * 90, description="Look back this many hours")
    include_performance_metrics: bool = Field(default=True, description="Node CPU/memory pressure")
    anomaly_sensitivity: Literal["low", "medium", "high"] = Field(
        default="medium", description="Usage threshold for pressure findings: low 95%, medium 90%, high 80% "
                                      "(high also lists unmanaged resources)")


class Output(ToolOutput):
    """Findings."""

    anomalies_detected: list[Anomaly]
    risk_assessment: dict[str, int]
    recommended_investigations: list[str]
    auto_correctable_issues: list[str]


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """Look at records and the live inventory."""
    state = app.state()
    observation = app.observe(state)
    found = find_anomalies(state, observation, deviations=queries.deviations(app.service),
                           instances=queries.instances(app.service), runs=queries.runs(app.service, limit=200),
                           now=app.service.clock(), window_hours=args.analysis_window_hours,
                           sensitivity=args.anomaly_sensitivity)
    if not args.include_performance_metrics:
        found = [a for a in found if not a.kind.endswith("-pressure")]
    counts = {s: sum(1 for a in found if a.severity == s) for s in ("high", "medium", "low")}
    return Output(summary=f"{len(found)} anomal{'y' if len(found) == 1 else 'ies'} "
                          f"({counts['high']} high, {counts['medium']} medium, {counts['low']} low)",
                  anomalies_detected=found, risk_assessment=counts,
                  recommended_investigations=sorted({f"{a.subject}: {a.investigate}" for a in found}),
                  auto_correctable_issues=sorted({a.subject for a in found if a.auto_correctable}))


SPEC = ToolSpec(name="detect-infrastructure-anomalies", title="Detect infrastructure anomalies",
                description="Open drift, failed instances, failing reconcile runs, unreachable providers, down "
                            "nodes and nodes above a usage threshold (stated), each with evidence and what to "
                            "check next.",
                scope="read", toolset="advice", input=Input, output=Output, run=run,
                read_only=True, destructive=False, idempotent=True)
