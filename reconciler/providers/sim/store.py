"""How sim machines and nodes are kept in the provider's durable state."""

from __future__ import annotations

from typing import Any

from reconciler.models.inventory import NodeFacts
from reconciler.models.lab import ProviderConfig
from reconciler.providers.base import ProviderState

MACHINE_PREFIX = "machine/"
DEFAULT_NODE = {"cpu": 32, "memory_gb": 128, "storage_gb": 2000, "gpu": 1}


def machine_key(name: str) -> str:
    """State key of a machine."""
    return MACHINE_PREFIX + name


def load_machines(state: ProviderState) -> dict[str, dict[str, Any]]:
    """Every machine, owned or not, by name (one query)."""
    return {key.removeprefix(MACHINE_PREFIX): value for key, value in state.items(MACHINE_PREFIX).items()}


def node_specs(config: ProviderConfig) -> dict[str, dict[str, Any]]:
    """Node sizes from `options.nodes` (name -> cpu, memory_gb, storage_gb, gpu), else `nodes` at default size."""
    raw = config.options.get("nodes")
    specs: dict[str, dict[str, Any]] = {}
    if isinstance(raw, dict):
        for name, size in raw.items():
            specs[str(name)] = {**DEFAULT_NODE, **(size if isinstance(size, dict) else {})}
    for name in config.nodes:
        specs.setdefault(name, dict(DEFAULT_NODE))
    if not specs:
        specs["sim-1"] = dict(DEFAULT_NODE)
    return specs


def node_facts(provider: str, config: ProviderConfig, machines: dict[str, dict[str, Any]]) -> list[NodeFacts]:
    """Nodes with their use summed from the machines placed on them."""
    from reconciler.models.inventory import Gpu

    facts = []
    by_node: dict[str, list[dict[str, Any]]] = {}
    for m in machines.values():
        by_node.setdefault(str(m.get("node")), []).append(m)
    for name, size in sorted(node_specs(config).items()):
        placed = by_node.get(name, [])
        gpu_users = [m["name"] for m in placed if int(m.get("fields", {}).get("gpu", 0) or 0) > 0]
        gpus = [
            Gpu(
                id=f"{name}-gpu{i}",
                model=str(size.get("gpu_model", "simulated GPU")),
                in_use_by=gpu_users[i] if i < len(gpu_users) else None,
            )
            for i in range(int(size.get("gpu", 0)))
        ]
        facts.append(
            NodeFacts(
                name=name,
                provider=provider,
                cpu=float(size["cpu"]),
                memory_gb=float(size["memory_gb"]),
                storage_gb=float(size["storage_gb"]),
                cpu_allocated=float(sum(m.get("fields", {}).get("cpu", 0) for m in placed)),
                memory_allocated_gb=float(sum(m.get("fields", {}).get("memory_gb", 0) for m in placed)),
                guests=len(placed),
                cpu_used=float(sum(m.get("fields", {}).get("cpu_load", 0) for m in placed)),
                memory_used_gb=float(sum(m.get("fields", {}).get("memory_used_gb", 0) for m in placed)),
                storage_used_gb=float(sum(m.get("fields", {}).get("storage_gb", 0) for m in placed)),
                gpus=gpus,
            )
        )
    return facts
