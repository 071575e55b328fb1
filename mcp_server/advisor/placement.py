"""Placement advice: the node the reconciler's own deterministic placement would choose, and the others."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from reconciler.models.desired import DesiredState
from reconciler.models.effective import EffectiveResource
from reconciler.models.inventory import Inventory
from reconciler.models.resource import Deployment, NetworkSpec, Requirements, ServiceSpec
from reconciler.plan.placement import place


class PlacementAdvice(BaseModel):
    """Where a workload would go, per pool, with the capacity it leaves."""

    pool: str
    provider: str
    best_node: str | None
    reason: str
    alternatives: list[str] = Field(default_factory=list)
    capacity_impact: dict[str, Any] = Field(default_factory=dict)
    backup_node: str | None = Field(default=None, description="For high availability: a second, different node")


def pool_nodes(state: DesiredState, pool_path: str) -> tuple[str, list[str]]:
    """(provider, candidate nodes) of a pool, with inheritance from parents."""
    pool = state.pool_by_path(pool_path)
    if pool is None:
        raise ValueError(f"no pool at {pool_path!r}")
    provider, nodes = pool.spec.provider, list(pool.spec.nodes)
    name: str | None = pool.name
    while (provider is None or not nodes) and name is not None:
        name = state.pool_parents.get(name)
        if name is None:
            break
        parent = state.pools[name]
        provider = provider or parent.spec.provider
        nodes = nodes or list(parent.spec.nodes)
    provider = provider or ""
    if not nodes and provider in state.lab.spec.providers:
        nodes = list(state.lab.spec.providers[provider].nodes)
    return provider, nodes


def advise_placement(state: DesiredState, inv: Inventory, pool_path: str, req: Requirements,
                     avoid: list[str], high_availability: bool) -> PlacementAdvice:
    """Run the reconciler's placement for a hypothetical resource in the pool."""
    provider, nodes = pool_nodes(state, pool_path)
    pool = state.pool_by_path(pool_path)
    assert pool is not None
    candidates = [n for n in nodes if n not in avoid] or [n.name for n in inv.nodes if n.name not in avoid]
    probe = EffectiveResource(name="placement-probe", lab=state.lab_name, resource_type="compute",
                              workload_type="general", provider=provider, provider_type=inv.provider_type,
                              pool=pool_path, pool_name=pool.name, candidate_nodes=candidates, requirements=req,
                              deployment=Deployment(), network=NetworkSpec(), service=ServiceSpec())
    decision = place(probe, inv.nodes)
    impact: dict[str, Any] = {}
    if decision.node:
        node = next(n for n in inv.nodes if n.name == decision.node)
        impact = {"node": node.name, "free_cpu_before": node.free_cpu,
                  "free_cpu_after": node.free_cpu - float(req.cpu or 1),
                  "free_memory_gb_before": node.free_memory_gb,
                  "free_memory_gb_after": node.free_memory_gb - float(req.memory_gb or 1),
                  "free_gpus_after": node.free_gpus - req.gpu_count}
    backup = next(iter(decision.alternatives), None) if high_availability else None
    return PlacementAdvice(pool=pool_path, provider=provider, best_node=decision.node, reason=decision.reason,
                           alternatives=list(decision.alternatives), capacity_impact=impact, backup_node=backup)
