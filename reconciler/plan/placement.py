"""Deterministic placement: same inventory + same input = same node, with the reason recorded."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from reconciler.models.effective import EffectiveResource
from reconciler.models.inventory import NodeFacts


@dataclass
class Reservations:
    """Capacity claimed by earlier placements in the same plan."""

    cpu: dict[str, float] = field(default_factory=dict)
    memory_gb: dict[str, float] = field(default_factory=dict)
    gpu: dict[str, int] = field(default_factory=dict)

    def claim(self, node: str, cpu: float, memory_gb: float, gpu: int) -> None:
        """Reserve capacity on node."""
        self.cpu[node] = self.cpu.get(node, 0.0) + cpu
        self.memory_gb[node] = self.memory_gb.get(node, 0.0) + memory_gb
        self.gpu[node] = self.gpu.get(node, 0) + gpu


@dataclass(frozen=True)
class PlacementDecision:
    """The chosen node (None when nothing fits) and why."""

    node: str | None
    reason: str
    alternatives: tuple[str, ...] = ()


def _tiebreak(resource: str, node: str) -> str:
    return hashlib.sha256(f"{resource}\0{node}".encode()).hexdigest()


def place(
    resource: EffectiveResource, nodes: list[NodeFacts], reserved: Reservations | None = None
) -> PlacementDecision:
    """Pick the candidate node with the most free capacity that fits cpu, memory and GPUs."""
    reserved = reserved or Reservations()
    req = resource.requirements
    cpu = float(req.cpu or 1)
    mem = float(req.memory_gb or 1)
    gpus = req.gpu_count
    candidates = [n for n in nodes if not resource.candidate_nodes or n.name in resource.candidate_nodes]
    if not candidates:
        names = ", ".join(resource.candidate_nodes) or "(none)"
        return PlacementDecision(None, f"none of the pool's nodes ({names}) is known to provider {resource.provider}")
    fitting: list[tuple[float, str, NodeFacts]] = []
    refusals: list[str] = []
    for node in candidates:
        if node.status not in ("online", "running", "ready"):
            refusals.append(f"{node.name} is {node.status}")
            continue
        free_cpu = node.free_cpu - reserved.cpu.get(node.name, 0.0)
        free_mem = node.free_memory_gb - reserved.memory_gb.get(node.name, 0.0)
        free_gpu = node.free_gpus - reserved.gpu.get(node.name, 0)
        if free_mem < mem:
            refusals.append(f"{node.name} has {free_mem:g} GiB free, needs {mem:g}")
            continue
        if free_gpu < gpus:
            refusals.append(f"{node.name} has {max(free_gpu, 0)} free GPU(s), needs {gpus}")
            continue
        if node.cpu and free_cpu < cpu:
            refusals.append(f"{node.name} has {free_cpu:g} free CPUs, needs {cpu:g}")
            continue
        mem_share = (free_mem - mem) / node.memory_gb if node.memory_gb else 0.0
        cpu_share = (free_cpu - cpu) / node.cpu if node.cpu else 0.0
        score = round(mem_share + cpu_share, 6)
        fitting.append((score, _tiebreak(resource.name, node.name), node))
    if not fitting:
        return PlacementDecision(None, "no node fits: " + "; ".join(refusals))
    fitting.sort(key=lambda item: (-item[0], item[1]))
    best = fitting[0][2]
    reserved.claim(best.name, cpu, mem, gpus)
    free_after = best.free_memory_gb - reserved.memory_gb.get(best.name, 0.0)
    return PlacementDecision(
        best.name,
        f"placed on {best.name}: most free capacity among {len(fitting)} fitting node(s) "
        f"({free_after:g} GiB memory left after placing)",
        tuple(n.name for _, _, n in fitting[1:]),
    )
