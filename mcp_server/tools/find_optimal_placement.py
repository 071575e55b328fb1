"""find-optimal-placement: the node the reconciler's deterministic placement would pick, per pool."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from mcp_server.advisor.placement import PlacementAdvice, advise_placement
from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.requirements import requirements_from
from mcp_server.toolspec import AgentError, ToolInput, ToolOutput, ToolSpec


class Input(ToolInput):
    """What to place and where it may go."""

    resource_requirements: dict[str, Any] = Field(description="cpu (or cores), memory_gb, storage_gb, gpu")
    resource_pool: str | None = Field(default=None, description="Pool path; default: every compute pool")
    affinity_rules: dict[str, list[str]] = Field(default_factory=dict,
                                                 description="{'avoid_nodes': [...], 'prefer_nodes': [...]}")
    high_availability: bool = Field(default=False, description="Also name a second node for a replica")
    instance_name: str | None = Field(default=None, max_length=63, description="Name the resource will have: "
                                      "ties between equal nodes are then broken exactly as the planner breaks them")


class Output(ToolOutput):
    """The best placement and the alternatives."""

    best_node: str | None
    resource_pool: str | None
    capacity_impact: dict[str, Any] = Field(default_factory=dict)
    alternative_nodes: list[str] = Field(default_factory=list)
    per_pool: list[PlacementAdvice] = Field(default_factory=list)


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """Place a hypothetical resource in each candidate pool; best pool first."""
    req = requirements_from(args.resource_requirements, extra_ok=False)
    unknown_rules = set(args.affinity_rules) - {"avoid_nodes", "prefer_nodes"}
    if unknown_rules:
        raise AgentError(f"unknown affinity rule(s) {', '.join(sorted(unknown_rules))}; use avoid_nodes, prefer_nodes")
    state = app.state()
    if args.resource_pool:
        if state.pool_by_path(args.resource_pool) is None:
            raise AgentError(f"no pool at {args.resource_pool!r}; see query-resource-pools")
        pools = [args.resource_pool]
    else:
        pools = sorted(p.spec.path for p in state.pools.values() if p.spec.pool_type == "compute")
    observation = app.observe(state)
    results: list[PlacementAdvice] = []
    for path in pools:
        pool = state.pool_by_path(path)
        provider = pool.spec.provider if pool else None
        from mcp_server.advisor.placement import pool_nodes

        provider = pool_nodes(state, path)[0] or provider
        inv = observation.inventories.get(provider or "")
        if inv is None:
            continue
        provider_obj = app.service.provider(state.lab_name, provider or "", state.lab.spec.providers[provider or ""])
        results.append(advise_placement(state, inv, provider_obj, path, req,
                                        args.affinity_rules.get("avoid_nodes", []), args.high_availability,
                                        args.instance_name))
    prefer = set(args.affinity_rules.get("prefer_nodes", []))
    fitting = [r for r in results if r.best_node]
    fitting.sort(key=lambda r: (0 if r.best_node in prefer else 1, pools.index(r.pool)))
    if not fitting:
        why = "; ".join(f"{r.pool}: {r.reason}" for r in results) or "no observable provider serves these pools"
        return Output(summary=f"no node fits: {why}", best_node=None, resource_pool=None, per_pool=results)
    best = fitting[0]
    summary = f"{best.best_node} in {best.pool}: {best.reason}" + (
        f"; replica on {best.backup_node}" if args.high_availability and best.backup_node else
        ("; no second node fits for high availability" if args.high_availability else ""))
    return Output(summary=summary, best_node=best.best_node, resource_pool=best.pool,
                  capacity_impact=best.capacity_impact, alternative_nodes=best.alternatives, per_pool=results)


SPEC = ToolSpec(name="find-optimal-placement", title="Find optimal placement",
                description="The node the reconciler's own deterministic placement would choose for given "
                            "requirements, per pool, with the capacity left afterwards and alternatives.",
                scope="read", toolset="advice", input=Input, output=Output, run=run,
                read_only=True, destructive=False, idempotent=True)
