"""list-deployment-templates: the lab's templates, optionally those that fit a pool."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from mcp_server.advisor.placement import pool_nodes
from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.toolspec import AgentError, ToolInput, ToolOutput, ToolSpec


class Input(ToolInput):
    """Filters."""

    template_type: str | None = Field(default=None, description="vm, container or service")
    compatible_with_pool: str | None = Field(default=None, description="Pool path the template must suit")
    include_parameters: bool = Field(default=False, description="Include requirements, variables and playbooks")


class Output(ToolOutput):
    """Templates."""

    templates: list[dict[str, Any]]


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """List templates; compatibility = same provider type as the pool's provider (or none declared)."""
    state = app.state()
    ptype: str | None = None
    if args.compatible_with_pool:
        if state.pool_by_path(args.compatible_with_pool) is None:
            raise AgentError(f"no pool at {args.compatible_with_pool!r}; see query-resource-pools")
        provider = pool_nodes(state, args.compatible_with_pool)[0]
        ptype = state.lab.spec.providers[provider].type if provider in state.lab.spec.providers else None
    items = []
    for name, tpl in sorted(state.templates.items()):
        spec = tpl.spec
        if args.template_type and spec.template_type != args.template_type:
            continue
        if ptype and spec.infrastructure.provider not in (None, ptype):
            continue
        item: dict[str, Any] = {"name": name, "type": spec.template_type, "provider": spec.infrastructure.provider,
                                "chart": spec.infrastructure.chart, "version": tpl.metadata.version,
                                "description": tpl.metadata.description,
                                "used_by": sorted(r.name for r in state.effective.values() if r.template == name)}
        if args.include_parameters:
            item["requirements"] = spec.resources.requirements.model_dump(exclude_defaults=True, mode="json")
            item["variables"] = spec.infrastructure.variables
            item["playbooks"] = [p.model_dump() for p in spec.configuration.playbooks]
            item["dimensions"] = spec.dimensions
        items.append(item)
    return Output(summary=f"{len(items)} template(s): " + ", ".join(i["name"] for i in items), templates=items)


SPEC = ToolSpec(name="list-deployment-templates", title="List deployment templates",
                description="The lab's deployment templates (requirements, provider, chart, playbooks), "
                            "optionally only those that suit a pool.",
                scope="read", toolset="read", input=Input, output=Output, run=run,
                read_only=True, destructive=False, idempotent=True)
