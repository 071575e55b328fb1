"""Placement vocabulary: what a guest asks of a node, the rules it is placed by, and the explanation."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from reconciler.models.meta import StrictModel
from reconciler.models.resource import Requirements

DEFAULT_CPU_ALLOCATION_RATIO = 4.0
DEFAULT_MEMORY_ALLOCATION_RATIO = 1.0
# Providers whose own scheduler never overcommits what homeport counts as allocation: Kubernetes admits a pod
# only while the requests on a node stay within its allocatable CPU and memory.
PROVIDER_DEFAULT_RATIOS: dict[str, tuple[float, float]] = {"kubernetes": (1.0, 1.0)}


def default_allocation_ratios(provider_type: str | None) -> tuple[float, float]:
    """(cpu, memory) ratios used where neither a pool nor the provider's entry in homeport.yaml sets one."""
    return PROVIDER_DEFAULT_RATIOS.get(provider_type or "",
                                       (DEFAULT_CPU_ALLOCATION_RATIO, DEFAULT_MEMORY_ALLOCATION_RATIO))

# node_constraints keys a template may use (the seed's has_gpu / min_memory_gb, and a few more)
CONSTRAINT_KEYS: tuple[str, ...] = ("has_gpu", "gpu_model", "min_memory_gb", "min_cpu", "min_cores", "labels")


class Demand(BaseModel):
    """What placing a guest allocates on a node: what the provider really reserves for it."""

    model_config = ConfigDict(frozen=True)

    cpu: float = Field(default=0, ge=0, description="vCPUs counted against cpu capacity x ratio")
    memory_gb: float = Field(default=0, ge=0, description="Memory counted against memory capacity x ratio")
    gpus: int = Field(default=0, ge=0)
    gpu_model: str | None = None
    storage_gb: float = Field(default=0, ge=0, description="Disk space asked of storage_pool")
    storage_pool: str | None = Field(default=None, description="Target storage, where the provider knows it")
    notes: tuple[str, ...] = Field(default=(), description="What an unset requirement reserves, said plainly")

    @classmethod
    def from_requirements(cls, req: Requirements, *, unset_cpu: float, unset_memory_gb: float, what: str) -> Demand:
        """From requirements; an unset cpu or memory reserves what the provider really gives (said in notes)."""
        notes = []
        if req.cpu is None:
            notes.append(f"cpu unset: {what} reserves {unset_cpu:g} vCPU")
        if req.memory_gb is None:
            notes.append(f"memory unset: {what} reserves {unset_memory_gb:g} GiB")
        return cls(
            cpu=float(req.cpu) if req.cpu is not None else unset_cpu,
            memory_gb=float(req.memory_gb) if req.memory_gb is not None else unset_memory_gb,
            gpus=req.gpu_count,
            gpu_model=req.gpu_model,
            notes=tuple(notes),
        )

    def describe(self) -> str:
        """'4 vCPU, 8 GiB, 1 GPU' for people."""
        parts = [f"{self.cpu:g} vCPU", f"{self.memory_gb:g} GiB"]
        if self.gpus:
            parts.append(f"{self.gpus} GPU" + (f" ({self.gpu_model})" if self.gpu_model else ""))
        if self.storage_gb and self.storage_pool:
            parts.append(f"{self.storage_gb:g} GiB on {self.storage_pool}")
        return ", ".join(parts)


class NodeConstraints(StrictModel):
    """What a node must offer (a template's node_constraints, merged)."""

    has_gpu: bool = False
    gpu_model: str | None = Field(default=None, description="Substring of the GPU model, case-insensitive")
    min_memory_gb: float | None = Field(default=None, ge=0)
    min_cpu: float | None = Field(default=None, ge=0, description="Minimum cores of the node (min_cores too)")
    labels: dict[str, str] = Field(default_factory=dict, description="Node labels that must match")

    @classmethod
    def from_rules(cls, rules: list[dict[str, Any]]) -> NodeConstraints:
        """Merge the seed's list of one-key mappings ([{has_gpu: true}, {min_memory_gb: 32}])."""
        merged: dict[str, Any] = {}
        for rule in rules:
            for key, value in rule.items():
                if key == "min_cores":
                    key = "min_cpu"
                if key == "labels" and isinstance(value, dict):
                    merged.setdefault("labels", {}).update({str(k): str(v) for k, v in value.items()})
                else:
                    merged[key] = value
        return cls.model_validate(merged)

    @property
    def any(self) -> bool:
        """Whether anything is constrained."""
        return bool(self.has_gpu or self.gpu_model or self.min_memory_gb or self.min_cpu or self.labels)


class PlacementRules(StrictModel):
    """How a resource is placed: overcommit ratios (pool chain, then provider, then default) and constraints."""

    cpu_allocation_ratio: float = Field(default=DEFAULT_CPU_ALLOCATION_RATIO, gt=0)
    memory_allocation_ratio: float = Field(default=DEFAULT_MEMORY_ALLOCATION_RATIO, gt=0)
    constraints: NodeConstraints = Field(default_factory=NodeConstraints)
    anti_affinity_group: str | None = Field(
        default=None, description="Resources of one high_availability group: never two on one node when another fits"
    )
    anti_affinity_members: int = Field(
        default=0,
        ge=0,
        description="Members a high_availability resource expanded into; where the candidate nodes number at least "
        "this many, two members never share a node (the change is held back instead)",
    )
    anti_affinity_required: bool = Field(
        default=False, description="Two members never share a node, however few nodes there are"
    )


Limit = Literal["ok", "cpu", "memory", "gpu", "storage", "constraint", "status", "unknown"]


class NodeVerdict(BaseModel):
    """One node judged for one guest: whether it fits, the limiting figure, and the figures behind it."""

    node: str
    fits: bool
    limit: Limit = "ok"
    figure: str = Field(description="The deciding figure, e.g. 'cpu 18/16 allocated (4 cores x 4.0), needs 4'")
    cpu_allocated: float = 0
    cpu_allocatable: float = Field(default=0, description="cores x cpu_allocation_ratio; 0 when unknown")
    memory_allocated_gb: float = 0
    memory_allocatable_gb: float = 0
    load: float = Field(default=0, description="Share of the allocatable capacity allocated after placing (0..1+)")
    usage: float = Field(default=0, description="Current usage share (cpu and memory), the tie-breaker")


class PlacementReport(BaseModel):
    """Why a guest goes where it goes: the node picked, the runner-up, or every node's limiting figure."""

    node: str | None
    source: Literal["placed", "pinned", "observed", "recorded", "refused"] = "placed"
    reason: str
    runner_up: str | None = None
    alternatives: list[str] = Field(default_factory=list, description="Other fitting nodes, best first")
    demand: Demand = Field(default_factory=Demand)
    cpu_allocation_ratio: float = DEFAULT_CPU_ALLOCATION_RATIO
    memory_allocation_ratio: float = DEFAULT_MEMORY_ALLOCATION_RATIO
    nodes: list[NodeVerdict] = Field(
        default_factory=list, description="The picked node and runner-up; every node when refused"
    )
    warnings: list[str] = Field(default_factory=list, description="High usage on the picked node, notes on demand")

    @model_validator(mode="after")
    def _refused_has_no_node(self) -> PlacementReport:
        if self.source == "refused" and self.node is not None:
            raise ValueError("a refused placement names no node")
        return self


class NodeCapacity(BaseModel):
    """One node as `homeport capacity` shows it: capacity, allocated, ratio, usage and what is free to place."""

    provider: str
    node: str
    status: str
    cpu: float = Field(description="Cores (capacity)")
    memory_gb: float
    cpu_allocated: float
    memory_allocated_gb: float
    guests: int
    cpu_allocation_ratio: float
    memory_allocation_ratio: float
    cpu_free_to_place: float = Field(description="cores x ratio - allocated (0 when full; capacity 0: unknown)")
    memory_free_to_place_gb: float
    cpu_used: float = Field(description="Cores busy now (usage: a warning, never a limit)")
    memory_used_gb: float
    gpus: int = 0
    gpus_free: int = 0
    gpu_models: list[str] = Field(default_factory=list)
    storage: list[dict[str, Any]] = Field(default_factory=list, description="name, total_gb, used_gb, free_gb")
    pools: list[str] = Field(default_factory=list, description="Pools whose resources may be placed here")


class CapacityReport(BaseModel):
    """Every observed node of the lab's enabled providers, and why other providers are missing."""

    nodes: list[NodeCapacity] = Field(default_factory=list)
    unavailable: dict[str, str] = Field(default_factory=dict)
