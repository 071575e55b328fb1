"""Provider choice: which of the lab's providers can run a workload, compared on facts, with reasons.

Rules (stated, not learned): a provider must be enabled and observable to take a workload now; GPUs need a
provider whose nodes report free GPUs (or an AWS region with a GPU type); high availability needs at
least two nodes that fit. On-premise capacity already paid for is preferred over cloud when it fits,
unless the caller says it prefers cloud. Cloud prices come from the cited catalog.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from mcp_server.advisor.costs import cloud_estimate
from mcp_server.advisor.placement import probe_resource
from reconciler.models.desired import DesiredState
from reconciler.models.inventory import Inventory
from reconciler.models.placement import Demand
from reconciler.models.resource import Requirements
from reconciler.service.placement import Ledger, Provider, judge

CLOUD_TYPES = {"aws", "azure"}


class ProviderOption(BaseModel):
    """One provider instance, judged for the workload."""

    provider: str
    type: str
    viable: bool
    fitting_nodes: list[str] = Field(default_factory=list)
    pros: list[str] = Field(default_factory=list)
    cons: list[str] = Field(default_factory=list)
    monthly_cost: dict[str, Any] = Field(default_factory=dict)
    pools: list[str] = Field(default_factory=list)


def _fits(state: DesiredState, inv: Inventory, provider: Provider | None, pool: str, req: Requirements) -> list[str]:
    """Nodes that fit now, judged by the planner's placement (allocation x ratio, constraints, GPUs)."""
    probe = probe_resource(state, pool, req, [])
    demand = (provider.demand(probe, provider.desired_fields(probe)) if provider is not None else
              Demand.from_requirements(req, unset_cpu=0, unset_memory_gb=0, what="the workload"))
    ledger = Ledger.of(inv.nodes)
    wanted = set(probe.candidate_nodes)
    return sorted(e.facts.name for e in ledger.nodes.values()
                  if (not wanted or e.facts.name in wanted) and judge(e, demand, probe.placement_rules).fits)


def compare_providers(state: DesiredState, inventories: dict[str, Inventory], unavailable: dict[str, str],
                      req: Requirements, *, high_availability: bool = False,
                      prefer_on_premise: bool = True, max_monthly_cost: float | None = None,
                      providers: Mapping[str, Provider] | None = None) -> list[ProviderOption]:
    """Every provider of the lab judged for the requirements, best first (deterministic order)."""
    options: list[ProviderOption] = []
    for name, cfg in sorted(state.lab.spec.providers.items()):
        pools = sorted(p.spec.path for p in state.pools.values() if p.spec.provider == name)
        opt = ProviderOption(provider=name, type=cfg.type, viable=False, pools=pools)
        if not pools:
            opt.cons.append("no pool in the lab uses this provider, so nothing can be placed on it")
        if not cfg.enabled:
            opt.cons.append("disabled in homeport.yaml (enabled: false)")
        if cfg.type in CLOUD_TYPES:
            region = cfg.region or ("eastus" if cfg.type == "azure" else "us-east-1")
            opt.monthly_cost = cloud_estimate(cfg.type, req, region)
            if opt.monthly_cost.get("monthly_usd") is not None:
                opt.pros.append(f"{opt.monthly_cost['instance_type']} fits; on-demand "
                                f"${opt.monthly_cost['monthly_usd']}/month in {region}")
                if max_monthly_cost is not None and opt.monthly_cost["monthly_usd"] > max_monthly_cost:
                    opt.cons.append(f"above max_monthly_cost {max_monthly_cost}")
            else:
                opt.cons.append(opt.monthly_cost.get("note", "price unknown"))
            opt.pros.append("capacity on demand; several availability zones for high availability")
        inv = inventories.get(name)
        if cfg.type not in CLOUD_TYPES:
            if inv is None:
                if cfg.enabled:
                    opt.cons.append(unavailable.get(name, "could not be observed"))
            else:
                opt.fitting_nodes = _fits(state, inv, (providers or {}).get(name), pools[0], req) if pools else []
                if opt.fitting_nodes:
                    opt.pros.append(f"fits on {len(opt.fitting_nodes)} node(s) now: {', '.join(opt.fitting_nodes)}")
                    opt.pros.append("hardware already owned: no per-hour charge (power cost: see cost_analysis)")
                else:
                    opt.cons.append("no node has the CPU, memory and GPUs to allocate right now "
                                    "(capacity x allocation ratio)")
                if high_availability and len(opt.fitting_nodes) < 2:
                    opt.cons.append("high availability needs two fitting nodes")
            if cfg.type == "docker" and req.gpu_count:
                opt.pros.append("GPU via device reservations (NVIDIA container toolkit on the host)")
        opt.viable = bool(cfg.enabled and pools and not any(
            c.startswith(("no node", "high availability", "above", "no EC2", "no Azure")) for c in opt.cons) and (
            cfg.type in CLOUD_TYPES or opt.fitting_nodes))
        options.append(opt)

    def rank(o: ProviderOption) -> tuple[int, int, float, str]:
        cloud = o.type in CLOUD_TYPES
        cost = o.monthly_cost.get("monthly_usd")
        return (0 if o.viable else 1, (1 if cloud else 0) if prefer_on_premise else (0 if cloud else 1),
                float(cost) if isinstance(cost, int | float) else 0.0, o.provider)

    return sorted(options, key=rank)
