"""Pure: the capacity view (`homeport capacity`, MCP query-resource-pools) from observed inventories, with the
ratios placement would use on each node (nearest pool that lists it, else the provider's, else the default)."""

from __future__ import annotations

from reconciler.models.desired import DesiredState
from reconciler.models.inventory import Inventory, NodeFacts
from reconciler.models.placement import (
    CapacityReport,
    NodeCapacity,
    default_allocation_ratios,
)


def pool_ratios(state: DesiredState, pool_name: str) -> tuple[float | None, float | None, str | None, list[str]]:
    """(cpu ratio, memory ratio, provider, nodes) a pool gives its resources, inherited down its chain."""
    chain = []
    name: str | None = pool_name
    while name is not None and name in state.pools and name not in chain:
        chain.append(name)
        name = state.pool_parents.get(name)
    cpu = mem = provider = None
    nodes: list[str] = []
    for pool in (state.pools[n] for n in reversed(chain)):
        cpu = pool.spec.cpu_allocation_ratio or cpu
        mem = pool.spec.memory_allocation_ratio or mem
        provider = pool.spec.provider or provider
        nodes = list(pool.spec.nodes) or nodes
    return cpu, mem, provider, nodes


def ratios_for_pool(state: DesiredState, provider: str, pool_path: str) -> tuple[float, float]:
    """(cpu, memory) allocation ratios placement uses for a guest of provider in the pool at pool_path: the nearest
    pool that sets one, else the provider's entry in homeport.yaml, else the provider type's default."""
    name = next((n for n, p in state.pools.items() if p.spec.path == pool_path), "")
    cpu, mem, _, _ = pool_ratios(state, name)
    cfg = state.lab.spec.providers.get(provider)
    default_cpu, default_mem = default_allocation_ratios(cfg.type if cfg else None)
    return (cpu or (cfg.cpu_allocation_ratio if cfg else None) or default_cpu,
            mem or (cfg.memory_allocation_ratio if cfg else None) or default_mem)


def node_capacity(node: NodeFacts, cpu_ratio: float, memory_ratio: float, pools: list[str]) -> NodeCapacity:
    """One node's row."""
    return NodeCapacity(
        provider=node.provider,
        node=node.name,
        status=node.status,
        cpu=node.cpu,
        memory_gb=node.memory_gb,
        cpu_allocated=round(node.cpu_allocated, 3),
        memory_allocated_gb=round(node.memory_allocated_gb, 3),
        guests=node.guests,
        cpu_allocation_ratio=cpu_ratio,
        memory_allocation_ratio=memory_ratio,
        cpu_free_to_place=round(max(node.cpu * cpu_ratio - node.cpu_allocated, 0.0), 3),
        memory_free_to_place_gb=round(max(node.memory_gb * memory_ratio - node.memory_allocated_gb, 0.0), 3),
        cpu_used=round(node.cpu_used, 3),
        memory_used_gb=round(node.memory_used_gb, 3),
        gpus=len(node.gpus),
        gpus_free=node.free_gpus,
        gpu_models=sorted({g.model for g in node.gpus if g.model}),
        storage=[
            {"name": s.name, "total_gb": s.total_gb, "used_gb": s.used_gb, "free_gb": round(s.free_gb, 3)}
            for s in node.storage
        ],
        pools=pools,
    )


def capacity_report(
    state: DesiredState, inventories: dict[str, Inventory], unavailable: dict[str, str], provider: str | None = None
) -> CapacityReport:
    """Every node of every observed provider (or one), with the ratios placement uses there."""
    report = CapacityReport(unavailable={k: v for k, v in unavailable.items() if provider in (None, k)})
    per_node: dict[tuple[str, str], list[tuple[str, float | None, float | None]]] = {}
    for pool_name, pool in sorted(state.pools.items()):
        cpu, mem, pool_provider, nodes = pool_ratios(state, pool_name)
        inv = inventories.get(pool_provider or "")
        if inv is None:
            continue
        for node_name in nodes or [n.name for n in inv.nodes]:
            per_node.setdefault((inv.provider, node_name), []).append((pool.spec.path, cpu, mem))
    for name, inv in sorted(inventories.items()):
        if provider is not None and name != provider:
            continue
        config = state.lab.spec.providers.get(name)
        default_cpu, default_mem = default_allocation_ratios(config.type if config else inv.provider_type)
        base_cpu = (config.cpu_allocation_ratio if config else None) or default_cpu
        base_mem = (config.memory_allocation_ratio if config else None) or default_mem
        for node in inv.nodes:
            pools = per_node.get((name, node.name), [])
            # the most specific pool decides (longest path); pools that set nothing fall back to the provider
            specific = max(pools, key=lambda p: p[0].count("/"), default=None)
            cpu_ratio = (specific[1] if specific else None) or base_cpu
            mem_ratio = (specific[2] if specific else None) or base_mem
            report.nodes.append(node_capacity(node, cpu_ratio, mem_ratio, sorted(p[0] for p in pools)))
    return report
