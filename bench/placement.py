"""Placement at scale: 1,000 new resources over 50 nodes that already hold 5,000 guests.

Usage: python bench/placement.py [--resources 1000] [--nodes 50] [--guests 5000] [--repeat 7]
Times the planner's whole pass (build_plan: diff, placement with claims, explanation) and the placement
function alone, best of --repeat runs. Target from issue 14: <= 0.5 s. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter

from reconciler.models.diffrules import DiffRules
from reconciler.models.effective import EffectiveResource
from reconciler.models.inventory import Gpu, Inventory, NodeFacts, ObservedResource
from reconciler.models.placement import Demand, PlacementRules
from reconciler.models.resource import Deployment, NetworkSpec, Requirements, ServiceSpec
from reconciler.plan.placement import Ledger, place
from reconciler.plan.planner import DesiredItem, PlanInput, build_plan

TARGET_S = 0.5


def inventory(nodes: int, guests: int) -> Inventory:
    """Nodes of 96 cores / 1 TiB (every fifth with a GPU), each already holding guests/nodes guests of 1-2 vCPUs
    and 1-4 GiB."""
    per_node = guests // nodes
    facts = []
    resources = []
    for i in range(nodes):
        name = f"node-{i:03d}"
        sizes = [(1 + (i + g) % 2, 1.0 + (i * g) % 4) for g in range(per_node)]
        facts.append(
            NodeFacts(
                name=name,
                provider="pve",
                cpu=96,
                memory_gb=1024,
                cpu_allocated=float(sum(c for c, _ in sizes)),
                memory_allocated_gb=float(sum(m for _, m in sizes)),
                guests=per_node,
                cpu_used=float(i % 40),
                memory_used_gb=float(100 + i % 50),
                gpus=[Gpu(id=f"{name}-gpu0", model="NVIDIA RTX 4090")] if i % 5 == 0 else [],
            )
        )
        resources.extend(
            ObservedResource(
                name=f"guest-{i:03d}-{g:03d}",
                provider="pve",
                kind="qemu",
                id=str(i * 1000 + g),
                node=name,
                fields={"cores": c, "memory_mb": int(m * 1024)},
            )
            for g, (c, m) in enumerate(sizes)
        )
    return Inventory(provider="pve", provider_type="proxmox", nodes=facts, resources=resources)


def desired(count: int) -> list[DesiredItem]:
    """New resources of 1 to 8 vCPUs and 1 to 16 GiB; every 50th asks a GPU, every 10th is in an HA group."""
    items = []
    for i in range(count):
        cpu, mem = 1 + i % 8, float(1 + i % 16)
        req = Requirements(cpu=cpu, memory_gb=mem, gpu=1 if i % 50 == 0 else 0)
        resource = EffectiveResource(
            name=f"new-{i:04d}",
            lab="bench",
            resource_type="compute",
            workload_type="general",
            provider="pve",
            provider_type="proxmox",
            pool="/bench",
            pool_name="bench",
            requirements=req,
            deployment=Deployment(),
            network=NetworkSpec(),
            service=ServiceSpec(),
            placement_rules=PlacementRules(anti_affinity_group=f"app=svc{i // 30}" if i % 10 == 0 else None),
        )
        fields = {"cores": cpu, "memory_mb": int(mem * 1024)}
        demand = Demand(cpu=cpu, memory_gb=mem, gpus=req.gpu_count)
        items.append(DesiredItem(resource=resource, fields=fields, rules=DiffRules(), demand=demand))
    return items


def best_of(repeat: int, fn: object) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--nodes", type=int, default=50)
    parser.add_argument("--guests", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    inv = inventory(args.nodes, args.guests)
    items = desired(args.resources)
    inputs = PlanInput(lab="bench", revision="0" * 40, desired=items, inventories={"pve": inv})

    plan = build_plan(inputs)
    creates = [c for c in plan.changes if c.op.value == "create"]
    held = [c for c in creates if c.blocked]
    spread = Counter(c.node for c in creates if not c.blocked)

    def placement_only() -> None:
        ledger = Ledger.of(inv.nodes)
        for item in items:
            place(item.resource.name, item.placement_demand(), item.resource.placement_rules, ledger)

    whole = best_of(args.repeat, lambda: build_plan(inputs))
    alone = best_of(args.repeat, placement_only)
    print(f"placement: {args.resources} new resources over {args.nodes} nodes holding {len(inv.resources)} guests "
          f"(best of {args.repeat}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    print(
        f"  build_plan (diff + placement + explanations): {whole:.3f} s  (target <= {TARGET_S} s: "
        f"{whole / TARGET_S:.0%} of it)"
    )
    print(f"  placement function alone:                     {alone:.3f} s")
    print(
        f"  placed {len(creates) - len(held)}, held back {len(held)}; "
        f"per node min {min(spread.values())} max {max(spread.values())}"
    )


if __name__ == "__main__":
    main()
