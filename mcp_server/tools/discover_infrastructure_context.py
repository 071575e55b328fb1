"""discover-infrastructure-context: every provider's nodes, capacity, use and resources, plus the pool tree."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from mcp_server.advisor.costs import lab_cost_notes
from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.paging import PageInput, page, pick_fields
from mcp_server.toolspec import AgentError, ToolOutput, ToolSpec
from reconciler.service.placement import capacity_report

NAME = "discover-infrastructure-context"
RESOURCE_FIELDS = ("provider", "name", "node", "status", "kind", "id", "managed")


class Input(PageInput):
    """What to include; resources come a page at a time (limit, cursor, fields, all)."""

    providers: list[str] = Field(default_factory=lambda: ["all"],
                                 description="Provider instance names or types from homeport.yaml, or ['all']")
    include_capacity: bool = Field(default=True, description="Node sizes and free capacity")
    include_utilization: bool = Field(default=True, description="Used CPU/memory per node")
    include_templates: bool = Field(default=True, description="Deployment templates of the lab")
    include_costs: bool = Field(default=True, description="What the project can say about costs, with sources")
    include_resources: bool = Field(default=True, description="Observed resources (managed and unmanaged)")
    staleness_hours: float = Field(default=1, ge=0, description="Accepted for compatibility; observation is live")


class NodeView(BaseModel):
    """One node."""

    name: str
    status: str
    cpu: float | None = None
    memory_gb: float | None = None
    storage_gb: float | None = None
    cpu_allocated: float | None = None
    memory_allocated_gb: float | None = None
    cpu_used: float | None = None
    memory_used_gb: float | None = None
    free_cpu: float | None = Field(default=None, description="vCPUs still placeable: cores x allocation ratio - "
                                   "allocated (what placement checks; usage is cpu_used)")
    free_memory_gb: float | None = Field(default=None, description="Memory still placeable: memory x ratio - "
                                         "allocated")
    gpus: list[dict[str, Any]] = Field(default_factory=list)


class ProviderView(BaseModel):
    """One provider instance."""

    name: str
    type: str
    enabled: bool
    status: str = Field(description="observed | disabled | unavailable")
    detail: str | None = None
    nodes: list[NodeView] = Field(default_factory=list)
    managed: list[dict[str, Any]] = Field(default_factory=list)
    unmanaged: list[dict[str, Any]] = Field(default_factory=list)
    managed_total: int = 0
    unmanaged_total: int = 0


class Output(ToolOutput):
    """The lab as it is now."""

    lab: str
    revision: str
    providers: list[ProviderView]
    resource_pools: list[dict[str, Any]]
    templates: list[str] = Field(default_factory=list)
    cost_analysis: dict[str, Any] = Field(default_factory=dict)
    resources_total: int = 0
    next_cursor: str | None = None


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """Observe the chosen providers and describe them with the pool tree."""
    state = app.state()
    configs = state.lab.spec.providers
    wanted = set(args.providers)
    if "all" in wanted:
        chosen = set(configs)
    else:
        chosen = {n for n, c in configs.items() if n in wanted or c.type in wanted}
        unknown = wanted - set(configs) - {c.type for c in configs.values()}
        if unknown:
            raise AgentError(f"unknown provider(s) {', '.join(sorted(unknown))}; this lab has: "
                             + ", ".join(f"{n} ({c.type})" for n, c in sorted(configs.items())) + " or 'all'")
    observation = app.observe(state, chosen)
    room = {(n.provider, n.node): n for n in
            capacity_report(state, observation.inventories, observation.unavailable).nodes}
    views: list[ProviderView] = []
    resources: list[dict[str, Any]] = []
    for name in sorted(chosen):
        cfg = configs[name]
        inv = observation.inventories.get(name)
        if inv is None:
            status = "disabled" if not cfg.enabled else "unavailable"
            views.append(ProviderView(name=name, type=cfg.type, enabled=cfg.enabled, status=status,
                                      detail=observation.unavailable.get(name)))
            continue
        nodes = []
        for n in inv.nodes:
            fit = room.get((name, n.name))
            nodes.append(NodeView(
                name=n.name, status=n.status,
                cpu=n.cpu if args.include_capacity else None,
                memory_gb=n.memory_gb if args.include_capacity else None,
                storage_gb=n.storage_gb if args.include_capacity else None,
                cpu_allocated=n.cpu_allocated if args.include_capacity else None,
                memory_allocated_gb=n.memory_allocated_gb if args.include_capacity else None,
                cpu_used=n.cpu_used if args.include_utilization else None,
                memory_used_gb=n.memory_used_gb if args.include_utilization else None,
                free_cpu=fit.cpu_free_to_place if args.include_capacity and fit else None,
                free_memory_gb=fit.memory_free_to_place_gb if args.include_capacity and fit else None,
                gpus=[g.model_dump() for g in n.gpus]))
        owned = inv.owned(state.lab_name)
        if args.include_resources:
            resources += [{"provider": name, "name": r.name, "node": r.node, "status": r.status, "kind": r.kind,
                           "id": r.id, "managed": r.name in owned and owned[r.name] is r} for r in inv.resources]
        views.append(ProviderView(name=name, type=cfg.type, enabled=True, status="observed", nodes=nodes,
                                  managed_total=len(owned), unmanaged_total=len(inv.resources) - len(owned),
                                  detail="; ".join(inv.errors) or None))
    pick_fields([], args.fields, RESOURCE_FIELDS)  # unknown names are refused even with no resources
    listing = page(NAME, resources, args.model_copy(update={"fields": None}),
                   sort_key=lambda r: (r["provider"], not r["managed"], r["name"], str(r["id"])),
                   filters={"providers": sorted(chosen), "resources": args.include_resources}, as_dict=dict,
                   known=RESOURCE_FIELDS)
    by_provider = {v.name: v for v in views}
    for item in listing.items:
        view = by_provider[item["provider"]]
        if args.fields is not None:
            shown = pick_fields([item], args.fields, RESOURCE_FIELDS)[0]
        elif item["managed"]:
            shown = {k: item[k] for k in ("name", "node", "status", "id")}
        else:
            shown = {k: item[k] for k in ("name", "node", "status", "kind")}
        (view.managed if item["managed"] else view.unmanaged).append(shown)
    pools = [{"name": p.name, "path": p.spec.path, "provider": p.spec.provider, "type": p.spec.pool_type,
              "nodes": p.spec.nodes, "capacity": p.spec.capacity.model_dump(exclude_none=True)}
             for p in sorted(state.pools.values(), key=lambda p: p.spec.path)]
    costs = lab_cost_notes(state) if args.include_costs else {}
    observed = sum(1 for v in views if v.status == "observed")
    summary = (f"lab {state.lab_name} at {state.revision[:12]}: {len(views)} provider(s), {observed} observed, "
               f"{sum(len(v.nodes) for v in views)} node(s), {sum(v.managed_total for v in views)} managed and "
               f"{sum(v.unmanaged_total for v in views)} unmanaged resource(s), {len(pools)} pool(s)"
               + (f"; this answer lists {len(listing.items)} of {listing.total} resources (next_cursor for more)"
                  if listing.next_cursor or args.cursor else ""))
    return Output(summary=summary, lab=state.lab_name, revision=state.revision, providers=views,
                  resource_pools=pools, templates=sorted(state.templates) if args.include_templates else [],
                  cost_analysis=costs, resources_total=listing.total, next_cursor=listing.next_cursor)


SPEC = ToolSpec(name=NAME, title="Discover infrastructure context",
                description="Live inventory of every provider (nodes, capacity, use, managed and unmanaged "
                            "resources), the pool hierarchy, templates and what is known about costs.",
                scope="read", toolset="read", input=Input, output=Output, run=run,
                read_only=True, destructive=False, idempotent=True)
