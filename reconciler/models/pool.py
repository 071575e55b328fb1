"""The `ResourcePool` kind: a node in the pool hierarchy that children inherit from."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from reconciler.models.meta import Dimensions, KindBase, StrictModel


class Capacity(StrictModel):
    """A quota or a node's size."""

    cpu: float | None = Field(default=None, ge=0)
    memory_gb: float | None = Field(default=None, ge=0)
    storage_gb: float | None = Field(default=None, ge=0)
    gpu: int | None = Field(default=None, ge=0)


class PoolSpec(StrictModel):
    """Where a pool sits, which provider serves it and what its children inherit."""

    path: str = Field(
        pattern=r"^(/[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$",
        description="e.g. /infrastructure/on-premise/proxmox/compute/gpu-nodes",
    )
    parent: str | None = Field(
        default=None, description="Name of the parent pool; by default the nearest pool above `path`"
    )
    pool_type: Literal["compute", "storage", "network", "container", "cluster", "region"] = "compute"
    provider: str | None = Field(
        default=None, description="Provider instance from homeport.yaml; inherited when absent"
    )
    nodes: list[str] = Field(default_factory=list, description="Nodes placement may use; inherited when absent")
    capacity: Capacity = Field(default_factory=Capacity)
    cpu_allocation_ratio: float | None = Field(
        default=None, gt=0, le=64, description="vCPUs placeable per core (overcommit); inherited; default 4.0"
    )
    memory_allocation_ratio: float | None = Field(
        default=None, gt=0, le=16, description="Memory placeable per GiB of the node; inherited; default 1.0"
    )
    properties: dict[str, Any] = Field(default_factory=dict, description="Inherited by children and resources")
    dimensions: Dimensions = Field(default_factory=dict, description="Inherited by children and resources")
    description: str | None = None


class ResourcePool(KindBase):
    """The `ResourcePool` kind (pools/*.yaml)."""

    kind: Literal["ResourcePool"]
    spec: PoolSpec
