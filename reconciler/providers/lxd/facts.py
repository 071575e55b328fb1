"""Pure parsers of LXD API answers: instances listings, host resources, sizes, passwd entries.

Observed fields use the same vocabulary as `fields.desired_fields`:
| field | LXD source |
|---|---|
| type | instance `type` (container, virtual-machine) |
| image | `user.homeport.image` (the alias or fingerprint it was created from) |
| cpu | `limits.cpu` (a count; pinned CPU sets are counted) |
| memory_mb | `limits.memory` in MiB |
| root_gb | the `root` disk device's `size` in GiB |
| gpu_count | devices of type gpu |
| nic | the first NIC: `network`, or `nictype` + `parent` |
| autostart | `boot.autostart` |
| nesting | `security.nesting` (containers) |
| status | running, stopped, frozen, error |
| configured | `user.homeport.configured`: stamp of the last clean configure run |
| addresses | global IPv4s by interface (listings with recursion=2 only; reported, never compared) |
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

from reconciler.models.inventory import Gpu, NodeFacts

MANAGED_KEY = "user.homeport.managed-by"
LAB_KEY = "user.homeport.lab"
RESOURCE_KEY = "user.homeport.resource"
IMAGE_KEY = "user.homeport.image"
CONFIGURED_KEY = "user.homeport.configured"
MANAGED_VALUE = "homeport"
MIB = 1024**2
GIB = 1024**3

_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?\s*$", re.IGNORECASE)


class InstanceFacts(BaseModel):
    """One instance from `GET /1.0/instances?recursion=1` (or 2, which adds its state)."""

    name: str
    type: str = "container"
    status: str = "unknown"
    location: str | None = None
    project: str = "default"
    config: dict[str, str] = Field(default_factory=dict, description="expanded_config (profiles applied)")
    local_config: dict[str, str] = Field(default_factory=dict, description="the instance's own config")
    devices: dict[str, dict[str, str]] = Field(default_factory=dict, description="expanded_devices")
    profiles: list[str] = Field(default_factory=list)
    addresses: dict[str, list[str]] = Field(default_factory=dict, description="interface -> global IPv4s")

    @property
    def owned_by(self) -> tuple[str | None, str | None]:
        """(lab, resource) from the ownership keys, (None, None) when homeport does not manage it."""
        if self.config.get(MANAGED_KEY) != MANAGED_VALUE:
            return None, None
        return self.config.get(LAB_KEY), self.config.get(RESOURCE_KEY) or self.name


def size_bytes(text: str | int | None) -> int | None:
    """Bytes in an LXD size ("4GiB", "512MB", "1073741824"); None for empty or percentages."""
    if text is None or text == "":
        return None
    if isinstance(text, int):
        return text
    match = _SIZE.match(str(text))
    if not match:
        return None
    return int(float(match.group(1)) * _UNITS[(match.group(2) or "").lower()])


def tidy(value: float) -> float | int:
    """An integer when whole (so 8.0 GiB compares and prints as 8)."""
    rounded = round(value, 3)
    return int(rounded) if rounded == int(rounded) else rounded


def cpu_count(text: str | None) -> int | None:
    """CPUs in `limits.cpu`: a count ("4") or a set ("0-3,6" counts 5)."""
    if not text:
        return None
    text = text.strip()
    if text.isdigit():
        return int(text)
    total = 0
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        if not lo.strip().isdigit() or (hi and not hi.strip().isdigit()):
            return None
        total += (int(hi) - int(lo) + 1) if hi else 1
    return total


def _addresses(state: dict[str, Any] | None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for iface, net in ((state or {}).get("network") or {}).items():
        if iface == "lo":
            continue
        found = [
            str(a["address"])
            for a in (net or {}).get("addresses") or []
            if a.get("family") == "inet" and a.get("scope") == "global"
        ]
        if found:
            out[iface] = found
    return out


def parse_instance(item: dict[str, Any]) -> InstanceFacts:
    """One instance of a listing, or of GET /1.0/instances/<name>?recursion=1 (which includes its state)."""
    return InstanceFacts(
        name=str(item["name"]),
        type=str(item.get("type") or "container"),
        status=str(item.get("status") or "unknown").lower(),
        location=item.get("location") if item.get("location") not in (None, "", "none") else None,
        project=str(item.get("project") or "default"),
        config={str(k): str(v) for k, v in (item.get("expanded_config") or item.get("config") or {}).items()},
        local_config={str(k): str(v) for k, v in (item.get("config") or {}).items()},
        devices={
            str(k): {str(a): str(b) for a, b in (v or {}).items()}
            for k, v in (item.get("expanded_devices") or item.get("devices") or {}).items()
        },
        profiles=[str(p) for p in item.get("profiles") or []],
        addresses=_addresses(item.get("state")),
    )


def parse_instances(metadata: list[dict[str, Any]]) -> list[InstanceFacts]:
    """Every instance of a listing, sorted by name."""
    return sorted((parse_instance(i) for i in metadata), key=lambda f: f.name)


def first_nic(devices: dict[str, dict[str, str]]) -> tuple[str, dict[str, str]] | None:
    """(device name, options) of the NIC named eth0, else the first NIC by name."""
    nics = {k: v for k, v in devices.items() if v.get("type") == "nic"}
    if not nics:
        return None
    name = "eth0" if "eth0" in nics else sorted(nics)[0]
    return name, nics[name]


def nic_summary(options: dict[str, str]) -> dict[str, str]:
    """What identifies a NIC's attachment: its managed network, or its nictype and parent."""
    if options.get("network"):
        return {"network": options["network"]}
    summary = {"nictype": options.get("nictype", "")}
    if options.get("parent"):
        summary["parent"] = options["parent"]
    return summary


def observed_fields(inst: InstanceFacts) -> dict[str, Any]:
    """The fields observe() reports for an instance (see the table at the top of this module)."""
    config = inst.config
    fields: dict[str, Any] = {
        "type": inst.type,
        "status": inst.status,
        "autostart": config.get("boot.autostart", "false").lower() == "true",
        "gpu_count": sum(1 for d in inst.devices.values() if d.get("type") == "gpu"),
        "profiles": list(inst.profiles),
    }
    if IMAGE_KEY in config:
        fields["image"] = config[IMAGE_KEY]
    cpu = cpu_count(config.get("limits.cpu"))
    if cpu is not None:
        fields["cpu"] = cpu
    memory = size_bytes(config.get("limits.memory"))
    if memory is not None:
        fields["memory_mb"] = memory // MIB
    root = inst.devices.get("root")
    root_size = size_bytes(root.get("size")) if root else None
    if root_size is not None:
        fields["root_gb"] = tidy(root_size / GIB)
    nic = first_nic(inst.devices)
    if nic is not None:
        fields["nic"] = nic_summary(nic[1])
    if inst.type == "container":
        fields["nesting"] = config.get("security.nesting", "false").lower() == "true"
    if CONFIGURED_KEY in config:
        fields["configured"] = config[CONFIGURED_KEY]
    if inst.addresses:  # only listings with recursion=2 carry state; never compared (nothing desires it)
        fields["addresses"] = {k: list(v) for k, v in sorted(inst.addresses.items())}
    return fields


def primary_address(inst: InstanceFacts) -> str | None:
    """The instance's address for SSH: eth0's first global IPv4, else any interface's."""
    if inst.addresses.get("eth0"):
        return inst.addresses["eth0"][0]
    return next((a[0] for _, a in sorted(inst.addresses.items()) if a), None)


class HostHardware(BaseModel):
    """What /1.0/resources and the storage pools say about a host: threads, memory, pool space, GPUs."""

    cpu_threads: int = 0
    memory_bytes: int = 0
    storage_bytes: int = 0
    storage_used_bytes: int = 0
    gpus: list[Gpu] = Field(default_factory=list)


def parse_resources(metadata: dict[str, Any]) -> HostHardware:
    """Host CPU threads, memory and GPU cards from a /1.0/resources answer."""
    cards = (metadata.get("gpu") or {}).get("cards") or []
    gpus = [
        Gpu(
            id=str(c.get("pci_address") or c.get("drm", {}).get("card_name") or f"card{i}"),
            model=str(c.get("product") or c.get("product_id") or ""),
            vendor=str(c.get("vendor") or c.get("vendor_id") or ""),
        )
        for i, c in enumerate(cards)
    ]
    return HostHardware(
        cpu_threads=int((metadata.get("cpu") or {}).get("total") or 0),
        memory_bytes=int((metadata.get("memory") or {}).get("total") or 0),
        gpus=gpus,
    )


def pool_space(answers: list[dict[str, Any]]) -> tuple[int, int]:
    """(total, used) bytes over storage pools' /1.0/storage-pools/<name>/resources answers."""
    total = sum(int(((a or {}).get("space") or {}).get("total") or 0) for a in answers)
    used = sum(int(((a or {}).get("space") or {}).get("used") or 0) for a in answers)
    return total, used


def node_facts(name: str, provider: str, hardware: HostHardware, instances: list[InstanceFacts]) -> NodeFacts:
    """A host's capacity (from /1.0/resources) and allocation (the sum of its instances' limits).

    Every instance counts, running or stopped: its limits are promised to it. An instance without
    limits.cpu counts no CPU and without limits.memory no memory (LXD lets it use what is free).
    GPUs carry the name of the instance holding a gpu device with their PCI address, if any.
    """
    cpu = sum(cpu_count(i.config.get("limits.cpu")) or 0 for i in instances)
    memory = sum(size_bytes(i.config.get("limits.memory")) or 0 for i in instances)
    holders = {
        d.get("pci"): i.name for i in instances for d in i.devices.values() if d.get("type") == "gpu" and d.get("pci")
    }
    gpus = [g.model_copy(update={"in_use_by": holders.get(g.id)}) for g in hardware.gpus]
    return NodeFacts(
        name=name,
        provider=provider,
        cpu=float(hardware.cpu_threads),
        memory_gb=round(hardware.memory_bytes / GIB, 3),
        storage_gb=round(hardware.storage_bytes / GIB, 3),
        storage_used_gb=round(hardware.storage_used_bytes / GIB, 3),
        cpu_allocated=float(cpu),
        memory_allocated_gb=round(memory / GIB, 3),
        guests=len(instances),
        gpus=gpus,
        labels={"instances": str(len(instances))},
    )


def passwd_entry(text: str, user: str) -> tuple[int, int, str] | None:
    """(uid, gid, home) of user in an /etc/passwd text, None when absent."""
    for line in text.splitlines():
        parts = line.split(":")
        if len(parts) >= 6 and parts[0] == user and parts[2].isdigit() and parts[3].isdigit():
            return int(parts[2]), int(parts[3]), parts[5]
    return None


def operation_id(answer: dict[str, Any]) -> str | None:
    """The operation id of an async answer (`operation: /1.0/operations/<id>`), None for sync answers."""
    url = answer.get("operation") or ""
    if not url:
        meta = answer.get("metadata")
        return str(meta["id"]) if isinstance(meta, dict) and meta.get("id") and answer.get("type") == "async" else None
    return str(url).rstrip("/").rsplit("/", 1)[-1].split("?")[0]
