"""The `UniversalResource` kind: the seed's universal definition plus provider, pool and policy."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from reconciler.models.meta import Dimensions, DnsLabel, KindBase, StrictModel

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")
_UNITS_GB = {
    "": 1.0,
    "g": 1.0,
    "gb": 1.0,
    "gib": 1.0,
    "t": 1024.0,
    "tb": 1024.0,
    "tib": 1024.0,
    "m": 1 / 1024,
    "mb": 1 / 1024,
    "mib": 1 / 1024,
}


def size_gb(value: float | int | str) -> float:
    """Gibibytes in a size given as a number (GiB) or text with a unit ('100G', '1.5TiB', '512M')."""
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"size {value} is negative")
        return float(value)
    match = _SIZE.match(value)
    if not match or match.group(2).lower() not in _UNITS_GB:
        raise ValueError(f"{value!r} is not a size: write a number of GiB or a number with M, G or T (e.g. 100G)")
    return float(match.group(1)) * _UNITS_GB[match.group(2).lower()]


class Disk(StrictModel):
    """An extra disk, identified by its name."""

    name: DnsLabel
    size: float | str = Field(description="GiB as a number, or text with a unit such as 100G")
    storage: str | None = None

    @field_validator("size")
    @classmethod
    def _size(cls, value: float | str) -> float:
        return size_gb(value)


class Requirements(StrictModel):
    """What a workload needs, independent of provider."""

    cpu: int | None = Field(default=None, ge=1, le=1024, description="vCPU cores")
    memory_gb: float | None = Field(default=None, gt=0, le=16384)
    storage_gb: float | str | None = Field(default=None, description="Boot disk size: GiB or text with a unit")
    gpu: bool | int = Field(default=False, description="true for one GPU, or a count")
    gpu_model: str | None = None
    network: str = "default"
    high_availability: bool = False
    disks: list[Disk] = Field(default_factory=list)

    @field_validator("storage_gb")
    @classmethod
    def _storage(cls, value: float | str | None) -> float | None:
        return None if value is None else size_gb(value)

    @field_validator("gpu")
    @classmethod
    def _gpu(cls, value: bool | int) -> bool | int:
        if not isinstance(value, bool) and value < 0:
            raise ValueError("gpu count cannot be negative")
        return value

    @property
    def gpu_count(self) -> int:
        """Number of GPUs asked for."""
        if isinstance(self.gpu, bool):
            return 1 if self.gpu else 0
        return self.gpu

    @model_validator(mode="after")
    def _unique_disks(self) -> Requirements:
        names = [d.name for d in self.disks]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"disk names must be unique; repeated: {', '.join(dupes)}")
        return self


class Deployment(StrictModel):
    """How the workload is run: environment, backup, monitoring, replicas."""

    environment: Literal["production", "staging", "development", "test"] = "production"
    backup_required: bool = False
    monitoring: Literal["enabled", "disabled"] = "disabled"
    replicas: int = Field(default=1, ge=0, le=100)
    stateful: bool | None = Field(default=None, description="Holds data; by default decided by workload type")


class NetworkSpec(StrictModel):
    """Static addressing (cloud-init, NICs)."""

    ipv4: str | None = Field(default=None, description="CIDR, e.g. 192.168.1.50/24, or 'dhcp'")
    gateway: str | None = None
    bridge: str | None = None
    vlan: int | None = Field(default=None, ge=1, le=4094)
    dns: list[str] = Field(default_factory=list)
    hostname: str | None = None


class Port(StrictModel):
    """A port a service listens on."""

    name: DnsLabel
    port: int = Field(ge=1, le=65535)
    target: int | None = Field(default=None, ge=1, le=65535)
    protocol: Literal["tcp", "udp"] = "tcp"


class Volume(StrictModel):
    """A named data volume mounted into a service."""

    name: DnsLabel
    path: str = Field(pattern=r"^/")
    size_gb: float | str | None = None

    @field_validator("size_gb")
    @classmethod
    def _size(cls, value: float | str | None) -> float | None:
        return None if value is None else size_gb(value)


class HealthCheck(StrictModel):
    """How to tell the service is healthy."""

    command: list[str] | None = None
    http_path: str | None = None
    port: int | None = None
    interval: str = "10s"
    retries: int = 3


class ServiceSpec(StrictModel):
    """Container-level details for docker, kubernetes and the guests' configuration."""

    image: str | None = None
    command: list[str] | None = None
    env: dict[str, str] = Field(default_factory=dict)
    secret_env: dict[str, str] = Field(
        default_factory=dict,
        description="Variable name -> environment variable on the reconciler host holding the value",
    )
    ports: list[Port] = Field(default_factory=list)
    volumes: list[Volume] = Field(default_factory=list)
    healthcheck: HealthCheck | None = None
    restart: Literal["no", "always", "unless-stopped", "on-failure"] = "unless-stopped"


class Placement(StrictModel):
    """Where to run: written by a proposal, otherwise placed deterministically."""

    node: str | None = None
    avoid_nodes: list[str] = Field(default_factory=list)


class SyncPolicy(StrictModel):
    """Per-resource overrides of the lab's reconcile policy."""

    auto_apply: bool | None = None
    self_heal: bool | None = None
    prune: bool | None = None
    allow_delete_stateful: bool = False
    remove_volumes: bool = False
    ignore_fields: list[str] = Field(default_factory=list, description="Field paths (glob) never reported as drift")


class ResourceSpec(StrictModel):
    """The universal definition."""

    resource_type: Literal["compute", "container", "service", "storage", "database"] = "compute"
    workload_type: str = "general"
    pool: str = Field(description="Path of the pool this resource runs in")
    provider: str | None = Field(default=None, description="Provider instance; by default the pool's")
    template: str | None = None
    requirements: Requirements = Field(default_factory=Requirements)
    deployment: Deployment = Field(default_factory=Deployment)
    network: NetworkSpec = Field(default_factory=NetworkSpec)
    service: ServiceSpec = Field(default_factory=ServiceSpec)
    placement: Placement = Field(default_factory=Placement)
    dimensions: Dimensions = Field(default_factory=dict)
    overrides: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per provider type values, e.g. proxmox: {cpu_type: host}"
    )
    sync: SyncPolicy = Field(default_factory=SyncPolicy)
    renamed_from: str | None = Field(
        default=None, description="Previous name: the plan renames instead of delete + create"
    )
    depends_on: list[str] = Field(
        default_factory=list,
        description="Resources that must be live before this one is created or changed (the reconciler waits)",
    )


class UniversalResource(KindBase):
    """The `UniversalResource` kind (resources/*.yaml)."""

    kind: Literal["UniversalResource"]
    spec: ResourceSpec
