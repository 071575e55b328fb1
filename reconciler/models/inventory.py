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


class NodeFacts(BaseModel):
    """A node's size and use."""

    name: str
    provider: str
    status: str = "online"
    cpu: float = 0
    memory_gb: float = 0
    storage_gb: float = 0
    cpu_used: float = 0
    memory_used_gb: float = 0
    storage_used_gb: float = 0
    gpus: list[Gpu] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)

    @property
    def free_cpu(self) -> float:
        """CPUs not in use."""
        return max(self.cpu - self.cpu_used, 0.0)

    @property
    def free_memory_gb(self) -> float:
        """Memory not in use."""
        return max(self.memory_gb - self.memory_used_gb, 0.0)

    @property
    def free_gpus(self) -> int:
        """GPUs not assigned to a guest."""
        return sum(1 for g in self.gpus if g.in_use_by is None)


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
