"""Where a new resource goes when the agent names no pool: the provider find-best-provider-for-workload
ranks first (or the one the agent names), then that provider's leaf pool that suits the workload.

Every decision is a sentence naming its fact and where the fact comes from (the live inventory, the lab's
homeport.yaml, the cited price catalog), so the person reviewing the proposal can check it.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from mcp_server.advisor.choice import CLOUD_TYPES, ProviderOption, compare_providers
from mcp_server.advisor.placement import pool_nodes
from reconciler.models.desired import DesiredState
from reconciler.models.inventory import Inventory
from reconciler.models.resource import Requirements


class TargetChoice(BaseModel):
    """The chosen provider and pool, why, and the options that lost."""

    provider: str
    pool: str
    decisions: list[str]
    options: list[ProviderOption] = Field(default_factory=list)


def matches_target(state: DesiredState, provider: str, target: str) -> bool:
    """Whether a provider instance is the target (an instance name or a provider type)."""
    cfg = state.lab.spec.providers.get(provider)
    return provider == target or (cfg is not None and cfg.type == target)


def check_target(state: DesiredState, target: str) -> None:
    """ValueError naming the lab's providers when target is neither an instance nor a type of this lab."""
    configs = state.lab.spec.providers
    if target not in configs and target not in {c.type for c in configs.values()}:
        raise ValueError(f"unknown provider {target!r}; this lab has: "
                         + ", ".join(f"{n} ({c.type})" for n, c in sorted(configs.items())))


def leaf_pools(state: DesiredState, provider: str) -> list[str]:
    """The pools placing on a provider that have no child pool of the same provider, sorted by path."""
    paths = sorted(p.spec.path for p in state.pools.values() if pool_nodes(state, p.spec.path)[0] == provider)
    return [p for p in paths if not any(o != p and o.startswith(p + "/") for o in paths)]


def _gpu_pool(state: DesiredState, path: str) -> bool:
    pool = state.pool_by_path(path)
    if pool is None:
        return False
    cap = pool.spec.capacity
    gpus = getattr(cap, "gpu", None) if cap is not None else None
    dims = pool.spec.dimensions or {}
    if dims.get("gpu_passthrough") or dims.get("tier") == "gpu":
        return True
    return "tier" not in dims and bool(gpus)


def pick_pool(state: DesiredState, provider: str, req: Requirements) -> tuple[str, str]:
    """(pool path, why) among the provider's pools: a GPU pool for GPU work, a general one otherwise
    (leaf pools first)."""
    leaves = leaf_pools(state, provider)
    if not leaves:
        raise ValueError(f"no pool of the lab places on provider {provider!r}; add a pool for it first")
    every = sorted(p.spec.path for p in state.pools.values() if pool_nodes(state, p.spec.path)[0] == provider)
    ordered = leaves + [p for p in every if p not in leaves]
    gpu = [p for p in ordered if _gpu_pool(state, p)]
    plain = [p for p in ordered if p not in gpu]
    if req.gpu_count and gpu:
        return gpu[0], "the provider's pool with GPUs (pool capacity.gpu or dimensions tier: gpu in Git)"
    if not req.gpu_count and plain:
        return plain[0], ("the provider's general pool (GPU pools are kept for GPU work)" if gpu
                          else "the provider's first pool by path")
    return leaves[0], "the provider's first pool by path"


def _why(o: ProviderOption) -> str:
    facts = o.pros + [f"but {c}" for c in o.cons]
    return "; ".join(facts) or "no facts"


def choose_target(state: DesiredState, inventories: dict[str, Inventory], unavailable: dict[str, str],
                  req: Requirements, *, high_availability: bool, target: str | None,
                  busy_ok: bool = False) -> TargetChoice:
    """Rank the lab's providers as find-best-provider-for-workload does and take the best (within target)."""
    options = compare_providers(state, inventories, unavailable, req, high_availability=high_availability)
    decisions: list[str] = []
    if target:
        check_target(state, target)
        named = [o for o in options if matches_target(state, o.provider, target) and o.pools]
        if not named:
            raise ValueError(f"no pool of the lab places on {target!r}; add a pool for it first")
        best = next((o for o in named if o.viable), named[0])
        decisions.append(f"provider = {best.provider} ({best.type}): asked for {target!r}"
                         + ("" if best.viable else
                            f"; note: {'; '.join(best.cons) or 'not viable now'} - the proposal is validated "
                            "and rendered, and applied once the provider is enabled and has room"))
    else:
        viable = [o for o in options if o.viable]
        if not viable and busy_ok:
            enabled = [o for o in options if o.pools and state.lab.spec.providers[o.provider].enabled]
            viable = enabled[:1]
            if viable:
                decisions.append(f"no provider has room now ({'; '.join(viable[0].cons)}): showing where it would "
                                 "go once capacity is free")
        if not viable:
            why = "; ".join(f"{o.provider}: {'; '.join(o.cons) or 'not viable'}" for o in options)
            raise ValueError(f"no provider of this lab can take it now ({why}); free capacity, enable a provider "
                             "or lower the requirements")
        best = viable[0]
        basis = ("on-premise capacity already owned is preferred over cloud when it fits (the ranking of "
                 "find-best-provider-for-workload)")
        decisions.append(f"provider = {best.provider} ({best.type}): {_why(best)} [live inventory; {basis}]")
        for other in options[1:4]:
            if other.provider != best.provider:
                decisions.append(f"not {other.provider} ({other.type}): {_why(other)}")
    if req.gpu_count:
        gpu_fit = [n for n in best.fitting_nodes] if best.type not in CLOUD_TYPES else []
        decisions.append(f"GPU: {req.gpu_count} asked; " + (
            f"nodes with a free GPU now: {', '.join(gpu_fit)} [live inventory]" if gpu_fit else
            "a GPU instance type from the price catalog" if best.type in CLOUD_TYPES else
            "no node reports a free GPU now [live inventory]"))
    if high_availability:
        decisions.append("high availability: " + (
            f"{len(best.fitting_nodes)} fitting nodes ({', '.join(best.fitting_nodes)}) [live inventory]"
            if best.fitting_nodes else "the provider spreads replicas itself (cluster or cloud)"))
    cost = best.monthly_cost
    if cost.get("monthly_usd") is not None:
        src = cost.get("source") or {}
        decisions.append(f"cost: {cost.get('instance_type')} ${cost['monthly_usd']}/month on-demand "
                         f"[{src.get('url', 'price catalog')}, {src.get('date', 'undated')}]")
    elif best.type not in CLOUD_TYPES:
        kwh = state.lab.spec.electricity_cost_per_kwh
        decisions.append("cost: hardware already owned, no per-hour charge; power "
                         + (f"at {kwh} {state.lab.spec.currency}/kWh [homeport.yaml electricity_cost_per_kwh]; "
                            "node wattage is not published in the lab, so the power share is not estimated"
                            if kwh is not None else "unpriced: no electricity_cost_per_kwh in homeport.yaml"))
    pool, why = pick_pool(state, best.provider, req)
    decisions.append(f"pool = {pool}: {why}")
    return TargetChoice(provider=best.provider, pool=pool, decisions=decisions, options=options)
