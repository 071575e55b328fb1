"""What the seed's `discover-proxmox-resources` tool reports: nodes, guests, storage, templates, GPUs.

Read only, from the same single GET /cluster/resources an observe cycle makes (plus the cached PCI
listings for GPUs), with capacity and usage in GiB and cores.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from reconciler.models.inventory import NodeFacts
from reconciler.providers.proxmox.fields import GIB, MIB, ownership, parse_tags
from reconciler.providers.proxmox.observe import Observer, guests, list_resources


class GuestSummary(BaseModel):
    """A QEMU VM or LXC container as the cluster lists it."""

    vmid: int
    name: str
    node: str
    kind: str
    status: str
    cores: int
    memory_mb: int
    disk_gb: float
    tags: list[str] = Field(default_factory=list)
    managed: bool = False
    lab: str | None = None
    lock: str | None = None


class StorageSummary(BaseModel):
    """One storage as one node sees it."""

    node: str
    storage: str
    plugin: str
    content: list[str]
    shared: bool
    total_gb: float
    used_gb: float
    status: str


class ProxmoxDiscovery(BaseModel):
    """A cluster at one moment: the data behind discover-proxmox-resources."""

    provider: str
    observed_at: datetime
    nodes: list[NodeFacts]
    guests: list[GuestSummary]
    templates: list[GuestSummary]
    storage: list[StorageSummary]
    api_calls: int = 0


def guest_summary(item: dict[str, Any]) -> GuestSummary:
    """A listing entry as a GuestSummary."""
    tags = parse_tags(item.get("tags"))
    managed, lab = ownership(tags)
    return GuestSummary(
        vmid=int(item["vmid"]),
        name=str(item.get("name") or ""),
        node=str(item.get("node")),
        kind=str(item["type"]),
        status=str(item.get("status") or "unknown"),
        cores=int(item.get("maxcpu") or 0),
        memory_mb=int(item.get("maxmem") or 0) // MIB,
        disk_gb=round(int(item.get("maxdisk") or 0) / GIB, 3),
        tags=tags,
        managed=managed,
        lab=lab,
        lock=item.get("lock"),
    )


def storage_summary(item: dict[str, Any]) -> StorageSummary:
    """A storage entry of the listing."""
    return StorageSummary(
        node=str(item.get("node")),
        storage=str(item.get("storage")),
        plugin=str(item.get("plugintype") or ""),
        content=[c for c in str(item.get("content") or "").split(",") if c],
        shared=bool(item.get("shared")),
        total_gb=round(int(item.get("maxdisk") or 0) / GIB, 3),
        used_gb=round(int(item.get("disk") or 0) / GIB, 3),
        status=str(item.get("status") or "unknown"),
    )


def discover(observer: Observer, now: datetime) -> ProxmoxDiscovery:
    """Nodes (capacity, usage, GPUs), guests, templates and storage of the cluster."""
    start = observer.client.calls
    items = list_resources(observer.client)
    all_guests = [guest_summary(i) for i in guests(items)]
    return ProxmoxDiscovery(
        provider=observer.provider,
        observed_at=now,
        nodes=observer.node_facts(items, [], now),
        guests=[g for g, i in zip(all_guests, guests(items), strict=True) if not i.get("template")],
        templates=[g for g, i in zip(all_guests, guests(items), strict=True) if i.get("template")],
        storage=[storage_summary(i) for i in items if i.get("type") == "storage"],
        api_calls=observer.client.calls - start,
    )
