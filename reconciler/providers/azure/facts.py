"""Pure parsers of Azure Resource Manager answers (plain JSON, as the REST API returns it) into facts.

Nothing here does I/O: observe.py and the executors hand over the JSON the SDK received
(`model.as_dict()` keeps ARM's own field names), and tests feed recorded answers.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

from reconciler.providers.base import LAB_LABEL, OWNER_LABEL, OWNER_VALUE, RESOURCE_LABEL

_ID = re.compile(r"^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/([^/]+/[^/]+)/([^/]+)", re.IGNORECASE)
# Transitional power states are reported as the state they are heading to, so a fresh start is no drift.
_POWER = {
    "running": "running", "starting": "running",
    "deallocated": "deallocated", "deallocating": "deallocated",
    "stopped": "stopped", "stopping": "stopped",
}


class ResourceId(BaseModel):
    """The parts of an ARM resource id."""

    subscription: str
    resource_group: str
    type: str
    name: str


def parse_id(resource_id: str) -> ResourceId:
    """Subscription, resource group, 'Namespace/type' and name of an ARM id; ValueError when it is not one."""
    match = _ID.match(resource_id or "")
    if not match:
        raise ValueError(f"{resource_id!r} is not an Azure resource id")
    return ResourceId(subscription=match.group(1), resource_group=match.group(2), type=match.group(3),
                      name=match.group(4))


class DataDiskFacts(BaseModel):
    """One attached data disk."""

    name: str
    lun: int
    size_gb: int | None = None
    id: str | None = None


class VmFacts(BaseModel):
    """One virtual machine as ARM reports it."""

    id: str
    name: str
    subscription: str
    resource_group: str
    location: str
    vm_size: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    image: str | None = None
    os_disk_name: str | None = None
    os_disk_id: str | None = None
    os_disk_gb: int | None = None
    data_disks: list[DataDiskFacts] = Field(default_factory=list)
    nic_ids: list[str] = Field(default_factory=list)
    provisioning_state: str | None = None
    power_state: str | None = None


def image_text(reference: dict[str, Any] | None) -> str | None:
    """A marketplace image as 'publisher:offer:sku:version' (or the image id)."""
    if not reference:
        return None
    if reference.get("publisher"):
        parts = [reference.get(k) or "" for k in ("publisher", "offer", "sku", "version")]
        return ":".join(str(p) for p in parts)
    return str(reference.get("id") or reference.get("sharedGalleryImageId") or "") or None


def power_state(statuses: list[dict[str, Any]] | None) -> str | None:
    """The power state from an instance view's statuses ('PowerState/running' -> 'running')."""
    for status in statuses or []:
        code = str(status.get("code", ""))
        if code.startswith("PowerState/"):
            raw = code.split("/", 1)[1].lower()
            return _POWER.get(raw, raw)
    return None


def parse_vm(vm: dict[str, Any]) -> VmFacts:
    """A VM (GET or list answer) as facts; the instance view, when present, gives the power state."""
    ident = parse_id(str(vm.get("id", "")))
    props = vm.get("properties") or {}
    storage = props.get("storageProfile") or {}
    os_disk = storage.get("osDisk") or {}
    disks = [
        DataDiskFacts(
            name=str(d.get("name") or f"lun{d.get('lun')}"),
            lun=int(d.get("lun", 0)),
            size_gb=d.get("diskSizeGB"),
            id=(d.get("managedDisk") or {}).get("id"),
        )
        for d in storage.get("dataDisks") or []
    ]
    view = props.get("instanceView") or {}
    return VmFacts(
        id=str(vm["id"]),
        name=str(vm.get("name") or ident.name),
        subscription=ident.subscription,
        resource_group=ident.resource_group,
        location=str(vm.get("location", "")),
        vm_size=(props.get("hardwareProfile") or {}).get("vmSize"),
        tags={str(k): str(v) for k, v in (vm.get("tags") or {}).items()},
        image=image_text(storage.get("imageReference")),
        os_disk_name=os_disk.get("name"),
        os_disk_id=(os_disk.get("managedDisk") or {}).get("id"),
        os_disk_gb=os_disk.get("diskSizeGB"),
        data_disks=sorted(disks, key=lambda d: d.lun),
        nic_ids=[str(n["id"]) for n in (props.get("networkProfile") or {}).get("networkInterfaces") or []
                 if n.get("id")],
        provisioning_state=props.get("provisioningState"),
        power_state=power_state(view.get("statuses")),
    )


class NicFacts(BaseModel):
    """A network interface: its subnet, security group and public IP references."""

    id: str
    name: str
    subnet_id: str | None = None
    nsg_id: str | None = None
    public_ip_id: str | None = None
    private_ip: str | None = None
    vm_id: str | None = None


def parse_nic(nic: dict[str, Any]) -> NicFacts:
    """A NIC answer as facts (the first IP configuration decides subnet and public IP)."""
    props = nic.get("properties") or {}
    configs = props.get("ipConfigurations") or []
    first = (configs[0].get("properties") or {}) if configs else {}
    return NicFacts(
        id=str(nic["id"]),
        name=str(nic.get("name", "")),
        subnet_id=(first.get("subnet") or {}).get("id"),
        nsg_id=(props.get("networkSecurityGroup") or {}).get("id"),
        public_ip_id=(first.get("publicIPAddress") or {}).get("id"),
        private_ip=first.get("privateIPAddress"),
        vm_id=(props.get("virtualMachine") or {}).get("id"),
    )


def ingress_rules(nsg: dict[str, Any]) -> list[str]:
    """An NSG's inbound Allow rules for one TCP/UDP port each, as sorted 'proto:port' strings."""
    rules = set()
    for rule in (nsg.get("properties") or {}).get("securityRules") or []:
        props = rule.get("properties") or {}
        if props.get("direction") != "Inbound" or props.get("access") != "Allow":
            continue
        proto = str(props.get("protocol", "")).lower()
        port = str(props.get("destinationPortRange", ""))
        if proto in ("tcp", "udp") and port.isdigit():
            rules.add(f"{proto}:{int(port)}")
    return sorted(rules)


def owner_of(tags: dict[str, str]) -> str | None:
    """The homeport lab whose tags a resource carries, or None when it is not homeport's."""
    if tags.get(OWNER_LABEL) == OWNER_VALUE and tags.get(RESOURCE_LABEL):
        return tags.get(LAB_LABEL)
    return None


def id_key(resource_id: str | None) -> str:
    """ARM ids are case-insensitive: the key to compare them by."""
    return (resource_id or "").rstrip("/").lower()


class WhatIfLine(BaseModel):
    """One resource in a what-if answer."""

    change_type: str
    resource_id: str
    paths: list[str] = Field(default_factory=list)

    def text(self) -> str:
        """A line for people: 'Modify Microsoft.Compute/virtualMachines web [properties.hardwareProfile.vmSize]'."""
        try:
            ident = parse_id(self.resource_id)
            what = f"{ident.type} {self.resource_id.rsplit('/', 1)[-1]}"
        except ValueError:
            what = self.resource_id
        return f"{self.change_type} {what}" + (f" [{', '.join(self.paths)}]" if self.paths else "")


def _delta_paths(delta: list[dict[str, Any]], prefix: str = "") -> list[str]:
    paths = []
    for item in delta or []:
        path = f"{prefix}.{item.get('path')}" if prefix else str(item.get("path"))
        if item.get("children"):
            paths.extend(_delta_paths(item["children"], path))
        else:
            paths.append(f"{path} ({item.get('propertyChangeType', '?')})")
    return paths


def parse_what_if(result: dict[str, Any]) -> list[WhatIfLine]:
    """A what-if operation's result as lines, resources with changes first, then unchanged ones."""
    lines = []
    changes = (result.get("properties") or {}).get("changes") or result.get("changes") or []
    for change in changes:
        lines.append(WhatIfLine(change_type=str(change.get("changeType", "?")),
                                resource_id=str(change.get("resourceId", "")),
                                paths=_delta_paths(change.get("delta") or [])))
    return sorted(lines, key=lambda line: (line.change_type in ("NoChange", "Ignore"), line.resource_id.lower()))
