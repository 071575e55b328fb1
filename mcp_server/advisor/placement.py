"""Placement advice: the node the reconciler's own deterministic placement would choose, and the others.

The same capacity model, demand and rules as the planner (reconciler.plan.placement), so advice and plan agree.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from reconciler.models.desired import DesiredState
from reconciler.models.effective import EffectiveResource
from reconciler.models.inventory import Inventory
from reconciler.models.placement import PlacementReport
from reconciler.models.resource import Requirements, UniversalResource
from reconciler.service.placement import Ledger, Provider, effective_resource, place, pool_chain


class PlacementAdvice(BaseModel):
    """Where a workload would go, per pool, with the capacity it leaves."""

    pool: str
    provider: str
    best_node: str | None
    reason: str
    alternatives: list[str] = Field(default_factory=list)
    capacity_impact: dict[str, Any] = Field(default_factory=dict)
    backup_node: str | None = Field(default=None, description="For high availability: a second, different node")
    placement: PlacementReport | None = Field(default=None, description="The planner's own placement explanation")


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


def probe_resource(state: DesiredState, pool_path: str, req: Requirements, avoid: list[str],
                   name: str = "placement-probe") -> EffectiveResource:
    """A hypothetical resource in the pool, resolved exactly as the planner resolves a declared one
    (pool chain ratios, provider nodes), so advice and plan use the same rules."""
    pool = state.pool_by_path(pool_path)
    if pool is None:
        raise ValueError(f"no pool at {pool_path!r}")
    doc = UniversalResource.model_validate({
        "apiVersion": "homelab.ai/v1", "kind": "UniversalResource", "metadata": {"name": name},
        "spec": {"pool": pool_path, "requirements": req.model_dump(mode="json", exclude_unset=True),
                 "placement": {"avoid_nodes": avoid}},
    })
    return effective_resource(state, doc, pool_chain(state, state.pool_parents, pool.name))


def advise_placement(state: DesiredState, inv: Inventory, provider: Provider, pool_path: str, req: Requirements,
                     avoid: list[str], high_availability: bool, name: str | None = None) -> PlacementAdvice:
    """Run the planner's placement (same demand, ratios, constraints, ledger) for a hypothetical resource; with
    the resource's name, ties between equal nodes are broken exactly as the planner will."""
    probe = probe_resource(state, pool_path, req, avoid, name or "placement-probe")
    if avoid and not probe.candidate_nodes:
        probe.candidate_nodes = [n.name for n in inv.nodes if n.name not in avoid]
    demand = provider.demand(probe, provider.desired_fields(probe))
    ledger = Ledger.of(inv.nodes)
    group = "placement-probe" if high_availability else None
    rules = probe.placement_rules.model_copy(update={"anti_affinity_group": group})
    report = place(probe.name, demand, rules, ledger, candidates=probe.candidate_nodes or None)
    impact: dict[str, Any] = {}
    if report.node:
        verdict = report.nodes[0]
        impact = {"node": report.node, "demand": demand.describe(),
                  "cpu_allocated_before": verdict.cpu_allocated,
                  "cpu_allocated_after": verdict.cpu_allocated + demand.cpu,
                  "cpu_allocatable": verdict.cpu_allocatable,
                  "memory_allocated_gb_before": verdict.memory_allocated_gb,
                  "memory_allocated_gb_after": verdict.memory_allocated_gb + demand.memory_gb,
                  "memory_allocatable_gb": verdict.memory_allocatable_gb,
                  "cpu_allocation_ratio": rules.cpu_allocation_ratio,
                  "memory_allocation_ratio": rules.memory_allocation_ratio}
    backup = None
    if high_availability and report.node:
        replica = place(probe.name + "-replica", demand, rules, ledger, candidates=probe.candidate_nodes or None)
        backup = replica.node if replica.node != report.node else None
    return PlacementAdvice(pool=pool_path, provider=probe.provider, best_node=report.node, reason=report.reason,
                           alternatives=list(report.alternatives), capacity_impact=impact, backup_node=backup,
                           placement=report)
