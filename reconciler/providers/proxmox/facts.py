"""Pure: PVE's answers (/cluster/resources listings, guest configs) as node facts and observed fields, in the
vocabulary of fields.desired_fields(); table-tested from recorded answers (tests/providers/proxmox/cases/)."""

from __future__ import annotations

import re
from typing import Any

from reconciler.models.inventory import NodeFacts, StoragePool
from reconciler.providers.proxmox.fields import (
    GIB,
    LXC_ROOT,
    MIB,
    parse_tags,
    property_string,
    size_gb_text,
    tidy_number,
)

_NEW_DISK = re.compile(r"^[^:]+:\d+(\.\d+)?$")
_MARKER = re.compile(r"homeport:disks=([^\s]*)")


def cheap_fields(item: dict[str, Any]) -> dict[str, Any]:
    """Fields /cluster/resources alone decides: kind, cores, memory, tags, status, root disk size."""
    fields: dict[str, Any] = {
        "kind": item.get("type"),
        "cores": int(item.get("maxcpu") or 0),
        "memory_mb": int(int(item.get("maxmem") or 0) // MIB),
        "tags": parse_tags(item.get("tags")),
        "status": "running" if item.get("status") == "running" else "stopped",
    }
    if item.get("maxdisk"):
        fields["root_gb"] = tidy_number(int(item["maxdisk"]) / GIB)
    return fields


def parse_disk_marker(description: str | None) -> dict[str, str]:
    """slot -> disk name from a guest description's marker line."""
    match = _MARKER.search(description or "")
    if not match:
        return {}
    out: dict[str, str] = {}
    for pair in match.group(1).split(","):
        name, _, slot = pair.partition("@")
        if name and slot:
            out[slot] = name
    return out


def is_cloudinit(key: str, value: Any) -> bool:
    """Whether a drive is the cloud-init drive (a volume named *cloudinit*, or a non-ISO CD-ROM on ide2)."""
    volume, props = property_string(str(value))
    if "cloudinit" in volume:
        return True
    return key == "ide2" and props.get("media") == "cdrom" and volume not in ("none", "cdrom") and "iso/" not in volume


def _disk_slots(kind: str, config: dict[str, Any]) -> list[str]:
    if kind == "lxc":
        keys = [k for k in config if k == LXC_ROOT or re.fullmatch(r"mp\d+", k)]
    else:
        keys = [
            k
            for k in config
            if re.fullmatch(r"(scsi|virtio|sata|ide)\d+", k)
            and "media=cdrom" not in str(config[k])
            and not is_cloudinit(k, config[k])
        ]
    return sorted(keys, key=lambda k: (k != LXC_ROOT, re.sub(r"\d+$", "", k), int(re.sub(r"^\D+", "", k) or 0)))


def fields_from_config(kind: str, config: dict[str, Any], status: str) -> dict[str, Any]:
    """Every field, from a guest's config (values arrive as strings or numbers; both are read)."""
    names = parse_disk_marker(config.get("description"))
    disks = []
    for index, slot in enumerate(_disk_slots(kind, config)):
        volume, props = property_string(config[slot])
        name = names.get(slot) or ("root" if index == 0 else slot)
        disk: dict[str, Any] = {"name": name, "storage": volume.split(":", 1)[0] if ":" in volume else ""}
        if "size" in props:
            disk["size_gb"] = size_gb_text(props["size"])
        elif _NEW_DISK.match(volume):  # '<storage>:<GiB>' is PVE's allocation syntax, not yet allocated
            disk["size_gb"] = tidy_number(float(volume.split(":", 1)[1]))
        disks.append(disk)
    nics = []
    for key in sorted(k for k in config if re.fullmatch(r"net\d+", k)):
        _model, props = property_string(config[key])
        nic: dict[str, Any] = {"name": key, "bridge": props.get("bridge", "")}
        if "tag" in props:
            nic["vlan"] = int(props["tag"])
        if kind == "lxc" and "ip" in props:
            nic["ip"] = props["ip"]
        if kind == "lxc" and "gw" in props:
            nic["gw"] = props["gw"]
        nics.append(nic)
    fields: dict[str, Any] = {
        "kind": kind,
        "cores": int(config.get("cores") or 1) * int(config.get("sockets") or 1),
        "memory_mb": int(str(config.get("memory") or 512).split("=")[-1]),
        "disks": disks,
        "nics": nics,
        "tags": parse_tags(config.get("tags")),
        "status": status,
        "onboot": str(config.get("onboot", "0")) in ("1", "true"),
    }
    if kind == "qemu":
        if config.get("cpu"):
            fields["cpu_type"] = property_string(config["cpu"])[0] or property_string(config["cpu"])[1].get("cputype")
        if config.get("ipconfig0"):
            fields["ipconfig0"] = str(config["ipconfig0"])
        gpus = [property_string(config[k]) for k in sorted(config) if re.fullmatch(r"hostpci\d+", k)]
        if gpus:
            fields["gpu_count"] = len(gpus)
            head, props = gpus[0]
            fields["gpu"] = props.get("mapping") or props.get("host") or head
        else:
            fields["gpu_count"] = 0
    return fields


def nodes_from_listing(provider: str, items: list[dict[str, Any]]) -> list[NodeFacts]:
    """Pure: nodes from a /cluster/resources answer. Capacity is maxcpu/maxmem of the node; allocation sums
    maxcpu/maxmem of every guest on it (managed or not, running or not; templates excluded); usage is
    cpu x maxcpu and mem; storage per pool that holds guest disks (images or rootdir). Sums are made in plain
    dicts and each node's model is built once (this runs on every observe)."""
    nodes = _listing_nodes(provider, items, None)
    assert nodes is not None  # only an allocation taken from earlier nodes can be missing
    return nodes


def nodes_with_allocation(
    provider: str, items: list[dict[str, Any]], allocation_from: list[NodeFacts]
) -> list[NodeFacts] | None:
    """Pure: nodes_from_listing for a listing whose guests are those of the listing allocation_from was built
    from (observe.guests_key equal): its allocation is taken as it was instead of summing the guests again;
    capacity, status, usage and storage are read anew. None when a node is new to allocation_from."""
    return _listing_nodes(provider, items, allocation_from)


def _listing_nodes(
    provider: str, items: list[dict[str, Any]], allocation_from: list[NodeFacts] | None
) -> list[NodeFacts] | None:
    before = {n.name: n for n in allocation_from} if allocation_from is not None else None
    nodes: dict[str, dict[str, Any]] = {}
    for item in items:
        if item.get("type") != "node":
            continue
        maxcpu = float(item.get("maxcpu") or 0)
        nodes[item["node"]] = {
            "name": item["node"],
            "provider": provider,
            "status": str(item.get("status") or "unknown"),
            "cpu": maxcpu,
            "cpu_used": round(float(item.get("cpu") or 0) * maxcpu, 3),
            "memory_gb": round(int(item.get("maxmem") or 0) / GIB, 3),
            "memory_used_gb": round(int(item.get("mem") or 0) / GIB, 3),
            "cpu_allocated": 0.0, "memory_allocated_gb": 0.0, "guests": 0,
            "storage_gb": 0.0, "storage_used_gb": 0.0, "storage": [],
        }
        if before is not None:
            old = before.get(item["node"])
            if old is None:
                return None
            nodes[item["node"]].update(cpu_allocated=old.cpu_allocated, memory_allocated_gb=old.memory_allocated_gb,
                                       guests=old.guests)
    for item in items:
        node = nodes.get(item.get("node", ""))
        if node is None:
            continue
        kind = item.get("type")
        if kind in ("qemu", "lxc") and before is None and not item.get("template"):
            node["cpu_allocated"] += float(item.get("maxcpu") or 0)
            node["memory_allocated_gb"] = round(node["memory_allocated_gb"] + int(item.get("maxmem") or 0) / GIB, 3)
            node["guests"] += 1
        content = str(item.get("content") or "")
        if kind == "storage" and ("images" in content or "rootdir" in content):
            total, used = int(item.get("maxdisk") or 0) / GIB, int(item.get("disk") or 0) / GIB
            node["storage_gb"] = round(node["storage_gb"] + total, 3)
            node["storage_used_gb"] = round(node["storage_used_gb"] + used, 3)
            node["storage"].append(
                StoragePool(
                    name=str(item.get("storage") or item.get("id", "").rsplit("/", 1)[-1]),
                    total_gb=round(total, 3),
                    used_gb=round(used, 3),
                    shared=bool(item.get("shared")),
                )
            )
    return [NodeFacts(**nodes[n]) for n in sorted(nodes)]
