"""get-resource-allocation-guidelines: sizing rules, and the published figures for a workload category."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from mcp_server.advisor.sizing import advise_size
from mcp_server.advisor.sops import sop_sections
from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.toolspec import ToolInput, ToolOutput, ToolSpec

CATEGORY_EXAMPLES = {"ai": "ollama", "ci-cd": "jenkins", "web": "nextcloud", "git": "gitea"}
LOAD_TIERS = {"light": "minimal", "medium": "standard", "heavy": "high-performance"}


class Input(ToolInput):
    """Category and load."""

    workload_category: str = Field(min_length=1, max_length=63, description="web, ai, database, ci-cd, or a "
                                   "service name")
    expected_load: Literal["light", "medium", "heavy"] = Field(
        default="medium", description="How hard the workload will be used")


class Output(ToolOutput):
    """Guidelines."""

    baseline_config: dict[str, Any]
    scaling_guidelines: str
    performance_indicators: str
    cost_optimization: str
    sources: list[dict[str, Any]]


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """Rules from the SOP, numbers from the cited vendor data (or 'unknown')."""
    sections = sop_sections("resource-allocation")
    service = CATEGORY_EXAMPLES.get(args.workload_category, args.workload_category)
    advice = advise_size(service, LOAD_TIERS[args.expected_load])
    baseline: dict[str, Any] = {k: (f.value if f.value is not None else "unknown") for k, f in advice.fields.items()}
    baseline["based_on"] = advice.service or f"no published figures for {args.workload_category!r}"
    return Output(summary=f"{args.workload_category} ({args.expected_load}): "
                          + ", ".join(f"{k} {v}" for k, v in baseline.items() if k != "based_on"),
                  baseline_config=baseline, scaling_guidelines=sections.get("scaling-guidelines", ""),
                  performance_indicators=sections.get("performance-indicators", ""),
                  cost_optimization=sections.get("cost-optimization", ""),
                  sources=[s.model_dump() for s in advice.sources])


SPEC = ToolSpec(name="get-resource-allocation-guidelines", title="Get resource allocation guidelines",
                description="Sizing rules (grow on evidence, shrink is high risk) and a baseline from cited "
                            "vendor figures for a workload category and expected load.",
                scope="read", toolset="advice", input=Input, output=Output, run=run,
                read_only=True, destructive=False, idempotent=True)
