"""What providers observe: nodes and resources, owned or not."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class Gpu(BaseModel):
    """A GPU a node can pass through."""

    id: str = Field(description="PCI address or mapping name")
    model: str = ""
    vendor: str = ""
    mapping: str | None = Field(default=None, description="PVE resource mapping name, when one exists")
    in_use_by: str | None = None


class StoragePool(BaseModel):
    """A storage a node can put guest disks on, where the provider reports its size."""

    name: str
    total_gb: float = 0
    used_gb: float = 0
    shared: bool = False

    @property
    def free_gb(self) -> float:
        """Space not yet used."""
        return max(self.total_gb - self.used_gb, 0.0)


class NodeFacts(BaseModel):
    """A node's capacity, what is allocated to guests on it, and what is in use right now.

    Capacity is the hardware (cores or threads, memory, GPUs, storage per pool where the provider knows it).
    Allocation is the sum of the configured vCPUs and memory of every guest on the node, managed or not:
    placement checks it against capacity x allocation ratio. Usage (cpu_used, memory_used_gb) is the current
    load: a tie-breaker and a warning, never a reason to refuse.
    """

    name: str
    provider: str
    status: str = "online"
    cpu: float = Field(default=0, description="Cores (or threads) the node has; 0 when unknown")
    memory_gb: float = Field(default=0, description="Memory the node has; 0 when unknown")
    storage_gb: float = 0
    cpu_allocated: float = Field(default=0, description="Sum of the configured vCPUs of the guests on the node")
    memory_allocated_gb: float = Field(default=0, description="Sum of the configured memory of the guests")
    guests: int = Field(default=0, description="Guests counted in the allocation")
    cpu_used: float = Field(default=0, description="Cores busy right now (usage, not allocation)")
    memory_used_gb: float = Field(default=0, description="Memory in use right now")
    storage_used_gb: float = 0
    storage: list[StoragePool] = Field(default_factory=list, description="Storage pools, where the provider knows")
    gpus: list[Gpu] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)

    @property
    def free_cpu(self) -> float:
        """Cores not busy right now (usage)."""
        return max(self.cpu - self.cpu_used, 0.0)

    @property
    def free_memory_gb(self) -> float:
        """Memory not in use right now (usage)."""
        return max(self.memory_gb - self.memory_used_gb, 0.0)

    @property
    def free_gpus(self) -> int:
        """GPUs not assigned to a guest."""
        return sum(1 for g in self.gpus if g.in_use_by is None)

    def storage_pool(self, name: str) -> StoragePool | None:
        """The storage pool called name, when the node reports it."""
        return next((s for s in self.storage if s.name == name), None)


class ObservedResource(BaseModel):
    """A live resource, with fields in the same vocabulary as the provider's desired fields."""

    name: str
    provider: str
    kind: str = Field(default="resource", description="Provider's own kind: qemu, lxc, container, instance, ...")
    id: str | None = Field(default=None, description="Provider id: vmid, container id, instance id")
    node: str | None = None
    owned: bool = False
    lab: str | None = None
    status: str = "unknown"
    fields: dict[str, Any] = Field(default_factory=dict)
    detail_loaded: bool = Field(default=True, description="False while only cheap listing fields are known")


class Inventory(BaseModel):
    """One provider's observation."""

    provider: str
    provider_type: str
    observed_at: datetime | None = None
    nodes: list[NodeFacts] = Field(default_factory=list)
    resources: list[ObservedResource] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
    api_calls: int = 0

    def owned(self, lab: str) -> dict[str, ObservedResource]:
        """Resources this lab manages, by name."""
        return {r.name: r for r in self.resources if r.owned and r.lab == lab}

    def unmanaged(self, lab: str) -> list[ObservedResource]:
        """Resources this lab does not manage: reported, never touched."""
        return [r for r in self.resources if not (r.owned and r.lab == lab)]
