"""Pure: the sim's answers (machine records in its durable state) as observed resources and nodes."""

from __future__ import annotations

from typing import Any

from reconciler.models.inventory import Gpu, NodeFacts, ObservedResource
from reconciler.providers.sim.settings import SimSettings


def machine_resource(provider: str, name: str, record: dict[str, Any]) -> ObservedResource:
    """One machine record as an observed resource."""
    fields = record.get("fields", {})
    # model_construct: these records were written by this provider, so validating 10,000 of them per cycle
    # would only cost time
    return ObservedResource.model_construct(
        name=name,
        provider=provider,
        kind="machine",
        id=record.get("id"),
        node=record.get("node"),
        owned=bool(record.get("owned")),
        lab=record.get("lab"),
        status=fields.get("status", "unknown"),
        fields=fields,
        detail_loaded=True,
    )


def node_facts(provider: str, settings: SimSettings, machines: dict[str, dict[str, Any]]) -> list[NodeFacts]:
    """Nodes with their size from settings, allocation summed from the machines on them (cpu, memory_gb), usage
    from the machines' cpu_load / memory_used_gb fields, and GPUs in use by machines that asked for one."""
    by_node: dict[str, list[dict[str, Any]]] = {}
    for m in machines.values():
        by_node.setdefault(str(m.get("node")), []).append(m)
    facts = []
    for name, size in sorted(settings.nodes.items()):
        placed = by_node.get(name, [])
        fields = [m.get("fields", {}) for m in placed]
        gpu_users = [m["name"] for m in placed if int(m.get("fields", {}).get("gpu", 0) or 0) > 0]
        gpus = [
            Gpu(id=f"{name}-gpu{i}", model=size.gpu_model, in_use_by=gpu_users[i] if i < len(gpu_users) else None)
            for i in range(size.gpu)
        ]
        facts.append(
            NodeFacts(
                name=name,
                provider=provider,
                cpu=size.cpu,
                memory_gb=size.memory_gb,
                storage_gb=size.storage_gb,
                cpu_allocated=float(sum(f.get("cpu", 0) for f in fields)),
                memory_allocated_gb=float(sum(f.get("memory_gb", 0) for f in fields)),
                guests=len(placed),
                cpu_used=float(sum(f.get("cpu_load", 0) for f in fields)),
                memory_used_gb=float(sum(f.get("memory_used_gb", 0) for f in fields)),
                storage_used_gb=float(sum(f.get("storage_gb", 0) for f in fields)),
                gpus=gpus,
            )
        )
    return facts
