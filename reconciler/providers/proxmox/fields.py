"""Pure mapping between homeport's field vocabulary and Proxmox guest config (both directions).

Field vocabulary (what `desired_fields()` returns and `observe()` reports, in the same units):
kind (qemu|lxc), cores, memory_mb, disks [{name, size_gb, storage}], nics [{name, bridge, vlan}],
tags (set), status (running|stopped), onboot, cpu_type, ipconfig0, gpu (mapping name or PCI id),
gpu_count; and on the desired side only (shown in the plan, never compared): clone_template, ostemplate.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any
from urllib.parse import quote

from reconciler.models.diffrules import DiffRules
from reconciler.models.effective import EffectiveResource
from reconciler.models.placement import Demand
from reconciler.providers.errors import PermanentProviderError

OWNER_TAG = "homeport"
DEFAULT_STORAGE = "local-lvm"
DEFAULT_BRIDGE = "vmbr0"
DEFAULT_ROOT_GB = 16
GIB = 1024**3
MIB = 1024**2

# PVE's pve-tag format (PVE::JSONSchema): letters, digits, _ - + . ; first char no - + .
_TAG = re.compile(r"^[a-z0-9_][a-z0-9_\-+.]*$", re.IGNORECASE)
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)([KMGT]?)$")
_SIZE_GB = {"K": 1 / 1024**2, "M": 1 / 1024, "G": 1.0, "T": 1024.0, "": 1 / GIB}

QEMU_DISK_BUS = "scsi"
LXC_ROOT = "rootfs"

# Plan-only fields: the template a guest is cloned from, or a container's OS template. Desired fields so the
# plan's create line names them; observe cannot read them back, so the diff ignores them (no false drift).
CREATED_FROM_FIELDS = ("clone_template", "ostemplate")

DIFF_RULES = DiffRules(
    keyed_lists={"disks": "name", "nics": "name"},
    replace_fields=["kind"],
    grow_only_fields=["disks*.size_gb"],
    high_risk_fields=["gpu", "gpu_count", "disks*.storage"],
    low_risk_fields=["tags", "tags.*", "onboot"],
    set_fields=["tags"],
    # What a guest is created from is shown in the plan but never compared: PVE keeps no record of it.
    ignore_fields=list(CREATED_FROM_FIELDS),
)

# What a running QEMU guest takes only at its next boot (homeport then reboots it: apply.converge reboots a
# running guest with pending changes). With PVE's default `hotplug: network,disk,usb`: cores and the CPU type
# are never hot-pluggable, memory only with `hotplug: memory` and NUMA, PCI passthrough never, and cloud-init
# (ipconfig0) is read at boot. NICs, new disks and growth apply live. Containers take cores, memory, NICs and
# mount points live.
RESTART_FIELDS: dict[str, tuple[str, ...]] = {
    "qemu": ("cores", "memory_mb", "cpu_type", "gpu", "gpu_count", "ipconfig0"),
    "lxc": (),
}

_RULES_BY_KIND: dict[str, DiffRules] = {
    kind: DIFF_RULES.model_copy(update={"restart_fields": list(slow)}, deep=True)
    for kind, slow in RESTART_FIELDS.items()
}


def rules_for(kind: str, status: str | None) -> DiffRules:
    """Pure: the diff rules of a guest of this kind, so the plan line says which changes reboot it; only a
    running guest is rebooted (`status` is the live guest's, None before it exists)."""
    if status != "running":
        return DIFF_RULES
    return _RULES_BY_KIND.get(kind, DIFF_RULES)


def lab_tag(lab: str) -> str:
    """The tag that says which lab owns a guest."""
    return f"{OWNER_TAG}-{lab}"


def valid_tag(tag: str) -> bool:
    """Whether PVE accepts this tag (pve-tag format)."""
    return bool(_TAG.match(tag))


def parse_tags(text: str | None) -> list[str]:
    """PVE's tag string ('a;b', also ',' or ' ' separated) as a sorted lower-case list."""
    if not text:
        return []
    return sorted({t.strip().lower() for t in re.split(r"[;, ]+", text) if t.strip()})


def ownership(tags: list[str]) -> tuple[bool, str | None]:
    """(owned by homeport, lab name) from a guest's tags."""
    if OWNER_TAG not in tags:
        return False, None
    labs = [t[len(OWNER_TAG) + 1 :] for t in tags if t.startswith(OWNER_TAG + "-")]
    return True, (labs[0] if len(labs) == 1 else None)


def size_gb_text(text: str) -> float:
    """GiB in a PVE size such as '32G', '512M' or a plain byte count."""
    match = _SIZE.match(text.strip())
    if not match:
        raise ValueError(f"not a PVE size: {text!r}")
    return tidy_number(float(match.group(1)) * _SIZE_GB[match.group(2)])


def tidy_number(value: float) -> float:
    """Round to 3 decimals and drop a zero fraction, so 32.0 and 32 compare and print alike."""
    rounded = round(value, 3)
    return int(rounded) if rounded == int(rounded) else rounded


def property_string(text: str) -> tuple[str, dict[str, str]]:
    """Split a PVE property string 'vol,key=value,...' into (first bare value, {key: value})."""
    head = ""
    props: dict[str, str] = {}
    for part in str(text).split(","):
        if "=" in part:
            key, _, value = part.partition("=")
            props[key.strip()] = value.strip()
        elif not head:
            head = part.strip()
    return head, props


def _px(resource: EffectiveResource) -> dict[str, Any]:
    return dict(resource.overrides or {})


def guest_kind(resource: EffectiveResource) -> str:
    """qemu or lxc: an override wins, else containers are LXC and everything else a VM."""
    kind = str(_px(resource).get("kind") or ("lxc" if resource.resource_type == "container" else "qemu"))
    if kind not in ("qemu", "lxc"):
        raise ValueError(f"{resource.name}: overrides.proxmox.kind must be qemu or lxc, not {kind!r}")
    return kind


def _storage(resource: EffectiveResource, disk_storage: str | None = None) -> str:
    px = _px(resource)
    return str(disk_storage or px.get("storage") or resource.properties.get("storage_pool") or DEFAULT_STORAGE)


def ipconfig(resource: EffectiveResource) -> str | None:
    """The cloud-init ipconfig0 value the network spec asks for, or None."""
    ipv4 = resource.network.ipv4
    if not ipv4:
        return None
    if ipv4 == "dhcp":
        return "ip=dhcp"
    return f"ip={ipv4}" + (f",gw={resource.network.gateway}" if resource.network.gateway else "")


def desired_fields(resource: EffectiveResource) -> dict[str, Any]:
    """Pure: the fields observe() reports once the resource is applied."""
    px = _px(resource)
    req = resource.requirements
    kind = guest_kind(resource)
    disks = [
        {
            "name": "root",
            "size_gb": tidy_number(float(req.storage_gb or DEFAULT_ROOT_GB)),
            "storage": _storage(resource),
        }
    ]
    disks += [
        {"name": d.name, "size_gb": tidy_number(float(d.size)), "storage": _storage(resource, d.storage)}
        for d in req.disks
    ]
    nic: dict[str, Any] = {
        "name": "net0",
        "bridge": resource.network.bridge or resource.properties.get("network_bridge") or DEFAULT_BRIDGE,
    }
    if resource.network.vlan:
        nic["vlan"] = resource.network.vlan
    extra_tags = [str(t).lower() for t in px.get("tags", [])]
    bad = [t for t in extra_tags if not valid_tag(t)]
    if bad:
        raise ValueError(
            f"{resource.name}: overrides.proxmox.tags has tags PVE refuses: {', '.join(bad)} "
            "(letters, digits, _ - + . only)"
        )
    fields: dict[str, Any] = {
        "kind": kind,
        "cores": int(req.cpu or px.get("cores") or 1),
        "memory_mb": round(float(req.memory_gb or 1) * 1024),
        "disks": disks,
        "nics": [nic],
        "tags": sorted({OWNER_TAG, lab_tag(resource.lab), *extra_tags}),
        "status": str(px.get("status", "running")),
        "onboot": bool(px.get("onboot", True)),
    }
    cpu_type = px.get("cpu_type") or resource.properties.get("cpu_type")
    if cpu_type and kind == "qemu":
        fields["cpu_type"] = str(cpu_type)
    ip = ipconfig(resource)
    if ip and kind == "qemu":
        fields["ipconfig0"] = ip
    elif ip and kind == "lxc":
        nic["ip"] = resource.network.ipv4
        if resource.network.gateway:
            nic["gw"] = resource.network.gateway
    fields.update(created_from(resource, kind))
    stamp = configuration_stamp(resource)
    if stamp:
        fields["configured"] = stamp
    if req.gpu_count:
        fields["gpu_count"] = req.gpu_count
        pinned = px.get("gpu") or resource.properties.get("gpu_mapping") or resource.properties.get("gpu_pci_id")
        if pinned:
            fields["gpu"] = str(pinned)
    return fields


def clone_source(resource: EffectiveResource) -> str | None:
    """The template to clone (name or VMID): overrides.proxmox.clone, else properties clone_template or
    template_id (the proxmox-compute chart's variable); None creates an empty VM."""
    px = _px(resource)
    source = px.get("clone") or resource.properties.get("clone_template") or resource.properties.get("template_id")
    return str(source) if source not in (None, "") else None


def os_template(resource: EffectiveResource) -> str | None:
    """A container's OS template (overrides.proxmox.ostemplate, else the property ostemplate), or None."""
    template = _px(resource).get("ostemplate") or resource.properties.get("ostemplate")
    return str(template) if template not in (None, "") else None


def created_from(resource: EffectiveResource, kind: str) -> dict[str, str]:
    """Pure: what a new guest is made from, as plan-only fields (CREATED_FROM_FIELDS). A VM is cloned from
    clone_source() or made empty. A container is cloned from overrides.proxmox.clone, else made from its OS
    template; a pool-wide clone template (a VM template, usually) is named only when no OS template is set."""
    source = clone_source(resource)
    if kind != "lxc":
        return {"clone_template": source} if source else {}
    template = os_template(resource)
    if _px(resource).get("clone") or (source and not template):
        return {"clone_template": str(source)}
    return {"ostemplate": template} if template else {}


def configuration_stamp(resource: EffectiveResource) -> str | None:
    """A digest of what the configure step applies (template, chart, playbooks, variables), or None.

    Reported back by observe once the playbook ran cleanly, so a guest whose configuration has not
    run (or whose playbooks changed) shows up in the plan. Only for guests the configure step can
    reach: a static address, or overrides.proxmox.configure: true (address from the guest agent).
    """
    wanted = _px(resource).get("configure")
    reachable = bool(resource.network.ipv4 and resource.network.ipv4 != "dhcp")
    if wanted is False or not (reachable or wanted):
        return None
    basis = {
        "template": resource.template,
        "chart": resource.chart,
        "playbooks": [p.model_dump(mode="json") for p in resource.configuration],
        "vars": resource.configuration_vars,
    }
    return hashlib.sha256(json.dumps(basis, sort_keys=True, default=str).encode()).hexdigest()[:16]


def disk_marker(slots: dict[str, str]) -> str:
    """The description line that records which homeport disk name sits in which PVE slot."""
    return "homeport:disks=" + ",".join(f"{name}@{slot}" for name, slot in sorted(slots.items()))



# -------------------------------------------------------------- desired -> config


def disk_slots_for(kind: str, disks: list[dict[str, Any]], taken: dict[str, str]) -> dict[str, str]:
    """name -> slot for every desired disk, keeping taken slots (name -> slot), filling gaps."""
    slots = dict(taken)
    used = set(slots.values())
    for index, disk in enumerate(disks):
        if disk["name"] in slots:
            continue
        if index == 0 and disk["name"] == "root":
            slot = LXC_ROOT if kind == "lxc" else f"{QEMU_DISK_BUS}0"
        else:
            prefix = "mp" if kind == "lxc" else QEMU_DISK_BUS
            n = 0 if kind == "lxc" else 1
            while f"{prefix}{n}" in used:
                n += 1
            slot = f"{prefix}{n}"
        slots[disk["name"]] = slot
        used.add(slot)
    return slots


def description_for(lab: str, name: str, slots: dict[str, str]) -> str:
    """The guest description homeport writes: who manages it, and the disk slot marker."""
    return (
        f"Managed by homeport (lab {lab}, resource {name}); edit the Git definition, not this guest.\n"
        f"{disk_marker(slots)}"
    )


def nic_value(kind: str, nic: dict[str, Any], raw: str | None = None) -> str:
    """net<n> property string for a desired NIC; an existing NIC (`raw`) keeps its model, MAC and options."""
    if raw:
        head, props = property_string(raw)
        props["bridge"] = nic["bridge"]
        for key, pve_key in (("vlan", "tag"), ("ip", "ip"), ("gw", "gw")):
            if nic.get(key):
                props[pve_key] = str(nic[key])
            else:
                props.pop(pve_key, None)
        return ",".join(([head] if head else []) + [f"{k}={v}" for k, v in props.items()])
    if kind == "lxc":
        parts = [f"name=eth{nic['name'][3:]}", f"bridge={nic['bridge']}"]
        if nic.get("ip"):
            parts.append(f"ip={nic['ip']}")
        if nic.get("gw"):
            parts.append(f"gw={nic['gw']}")
    else:
        parts = ["virtio", f"bridge={nic['bridge']}"]
    if nic.get("vlan"):
        parts.append(f"tag={nic['vlan']}")
    return ",".join(parts)


def disk_value(kind: str, slot: str, disk: dict[str, Any]) -> str:
    """A new disk's property string: '<storage>:<GiB>' (plus the mount point for LXC mount points)."""
    size = disk["size_gb"]
    text = f"{disk['storage']}:{size}"
    if kind == "lxc" and slot != LXC_ROOT:
        text += f",mp=/mnt/{disk['name']}"
    return text


def hostpci_value(gpu: str) -> str:
    """hostpci0 for a GPU: a PVE resource mapping by name, or a raw PCI address (root@pam only)."""
    if re.fullmatch(r"[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}(\.\d)?|[0-9a-fA-F]{2}:[0-9a-fA-F]{2}(\.\d)?", gpu):
        return f"{gpu},pcie=1"
    return f"mapping={gpu},pcie=1"


def sshkeys_value(keys: str) -> str:
    """PVE wants cloud-init sshkeys URL-encoded (format 'urlencoded'), spaces as %20."""
    return quote(keys.strip() + "\n", safe="")


def config_params(
    kind: str, desired: dict[str, Any], current: dict[str, Any], raw: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Config keys to set so `current` fields become `desired` (all but disks)."""
    raw = raw or {}
    params: dict[str, Any] = {}
    if desired.get("cores") is not None and desired["cores"] != current.get("cores"):
        params["cores"] = desired["cores"]
    if desired.get("memory_mb") is not None and desired["memory_mb"] != current.get("memory_mb"):
        params["memory"] = desired["memory_mb"]
    if "tags" in desired and sorted(desired["tags"]) != sorted(current.get("tags") or []):
        params["tags"] = ";".join(sorted(desired["tags"]))
    if "onboot" in desired and desired["onboot"] != current.get("onboot"):
        params["onboot"] = 1 if desired["onboot"] else 0
    if kind == "qemu":
        for key, pve_key in (("cpu_type", "cpu"), ("ipconfig0", "ipconfig0")):
            if desired.get(key) is not None and desired[key] != current.get(key):
                params[pve_key] = desired[key]
    have = {n["name"]: n for n in current.get("nics") or []}
    for nic in desired.get("nics") or []:
        old = have.get(nic["name"])
        if old is None or any(old.get(k) != v for k, v in nic.items()):
            params[nic["name"]] = nic_value(kind, nic, raw.get(nic["name"]))
    return params


def guest_demand(resource: EffectiveResource, fields: dict[str, Any]) -> Demand:
    """Pure: what a new guest allocates on its node (configured cores and memory, its GPUs, its disks on the
    root disk's storage); PVE gives a guest without cpu or memory 1 core / 1 GiB, and the notes say so."""
    req = resource.requirements
    disks = fields.get("disks") or []
    storage = str(disks[0]["storage"]) if disks else None
    notes = []
    if req.cpu is None:
        notes.append(f"cpu unset: the guest is created with {fields.get('cores', 1)} core(s)")
    if req.memory_gb is None:
        notes.append(f"memory unset: the guest is created with {int(fields.get('memory_mb', 1024))} MiB")
    return Demand(
        cpu=float(fields.get("cores") or 1),
        memory_gb=float(fields.get("memory_mb") or 1024) / 1024,
        gpus=req.gpu_count,
        gpu_model=req.gpu_model,
        storage_gb=float(sum(float(d.get("size_gb") or 0) for d in disks if d.get("storage") == storage)),
        storage_pool=storage,
        notes=tuple(notes),
    )


def disk_changes(
    kind: str,
    name: str,
    desired: list[dict[str, Any]],
    current: list[dict[str, Any]],
    config: dict[str, Any],
    slots: dict[str, str],
) -> tuple[dict[str, str], list[tuple[str, float]]]:
    """Pure: (config params adding new disks, (slot, GiB) disks to grow). Moving a disk to another storage or
    shrinking it is refused with the remedy (PVE cannot shrink; homeport does not move disks)."""
    have = {d["name"]: d for d in current}
    params: dict[str, str] = {}
    resizes: list[tuple[str, float]] = []
    for disk in desired:
        slot = slots[disk["name"]]
        old = have.get(disk["name"])
        if old is None:
            if slot not in config:
                params[slot] = disk_value(kind, slot, disk)
            continue
        if disk.get("storage") and old.get("storage") and disk["storage"] != old["storage"]:
            raise PermanentProviderError(
                f"proxmox: {name} disk {disk['name']} is on {old['storage']}, wanted {disk['storage']}; "
                "homeport does not move disks: move it by hand (qm disk move) or keep the storage"
            )
        size, want = old.get("size_gb"), disk.get("size_gb")
        if size is not None and want is not None and want < size:
            raise PermanentProviderError(
                f"proxmox: {name} disk {disk['name']} is {size} GiB, wanted {want} GiB; "
                "PVE cannot shrink disks: keep the size or replace the resource"
            )
        if size is not None and want is not None and want > size:
            resizes.append((slot, want))
    return params, resizes


def power_change(status: str, wanted: str | None) -> tuple[str, dict[str, Any], str] | None:
    """Pure: the status call (action, params, what it did) that brings a guest from status to wanted, if any."""
    if wanted == "running" and status != "running":
        return "start", {}, "started"
    if wanted == "stopped" and status == "running":
        return "shutdown", {"forceStop": 1, "timeout": 120}, "shut down"
    return None
