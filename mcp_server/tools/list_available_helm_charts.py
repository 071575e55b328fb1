"""list-available-helm-charts: homeport's charts by provider and workload type."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.toolspec import AgentError, ToolInput, ToolOutput, ToolSpec
from reconciler.models.lab import PROVIDER_TYPES


class Input(ToolInput):
    """Filters."""

    provider_filter: str | None = Field(default=None, description=f"One of {', '.join(PROVIDER_TYPES)}")
    workload_filter: str | None = Field(default=None, description="Workload type, e.g. ai-inference")
    include_custom_charts: bool = Field(default=True, description="Accepted for compatibility (all charts listed)")


class Output(ToolOutput):
    """Charts and what they can deploy."""

    available_charts: list[dict[str, Any]]
    compatibility_matrix: dict[str, list[str]]


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """List the chart library."""
    if args.provider_filter and args.provider_filter not in PROVIDER_TYPES:
        raise AgentError(f"unknown provider type {args.provider_filter!r}; use one of {', '.join(PROVIDER_TYPES)}")
    charts = app.service.charts.supporting(args.provider_filter)
    if args.workload_filter:
        charts = [c for c in charts if not c.meta.workload_types or args.workload_filter in c.meta.workload_types]
    items: list[dict[str, Any]] = [{"name": c.name, "version": c.meta.version, "description": c.meta.description,
              "provider_types": c.meta.provider_types, "resource_types": c.meta.resource_types,
              "workload_types": c.meta.workload_types or ["any"], "gpu": c.meta.gpu,
              "outputs": [{"file": o.file, "format": o.format} for o in c.meta.outputs]} for c in charts]
    matrix: dict[str, list[str]] = {}
    for c in charts:
        for p in c.meta.provider_types:
            matrix.setdefault(p, []).append(c.name)
    return Output(summary=f"{len(items)} chart(s): " + ", ".join(str(i["name"]) for i in items), available_charts=items,
                  compatibility_matrix=matrix)


SPEC = ToolSpec(name="list-available-helm-charts", title="List available charts",
                description="homeport's provider charts (Helm-like: Chart.yaml, values schema, templates): which "
                            "provider, resource and workload types each renders, GPU support and output formats.",
                scope="read", toolset="read", input=Input, output=Output, run=run,
                read_only=True, destructive=False, idempotent=True)
