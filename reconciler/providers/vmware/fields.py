"""Pure: the fields homeport compares for a VM, from desired resources and from observed facts.

Vocabulary (the same on both sides):
- num_cpus (int), memory_mb (int), power_state ('on' | 'off' | 'suspended'), annotation (the notes),
- disks: [{label, size_gb}] keyed by bus position: the boot disk is 'scsi0:0', the resource's
  extra disks follow in order on scsi0:1, scsi0:2, ... (unit 7 is the controller's own),
- nics: [{label, network}] keyed 'nic0', 'nic1', ... in device order,
- vm_name: the VM's name in vSphere, which is the resource's name (a rename there is drift),
- clone_template: the template a new VM is cloned from (desired side only, shown in the plan, never compared).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from reconciler.models.diffrules import DiffRules
from reconciler.models.effective import EffectiveResource
from reconciler.models.placement import Demand
from reconciler.providers.base import LAB_LABEL, OWNER_LABEL, OWNER_VALUE, RESOURCE_LABEL
from reconciler.providers.errors import PermanentProviderError
from reconciler.providers.vmware.facts import VmFacts

DIFF_RULES = DiffRules(
    keyed_lists={"disks": "label", "nics": "label"},
    grow_only_fields=["disks*size_gb"],
    low_risk_fields=["annotation", "vm_name"],
    set_fields=[],
    # The template a VM is cloned from is shown in the plan but never compared: vSphere keeps no record of it.
    ignore_fields=["clone_template"],
)

# What changes of a powered-on (or suspended) VM need it powered off: vSphere hot-adds vCPUs and memory only
# to a powered-on VM with CPU / memory hot-add on, and never takes either away live (apply.VmApplier.converge).
HOT_ADD_FLAGS = {"num_cpus": "cpu_hot_add", "memory_mb": "memory_hot_add"}


def power_cycle_fields(desired: dict[str, Any], observed: dict[str, Any] | None) -> list[str]:
    """Pure: the desired changes that power-cycle the live VM (observed fields; None before it exists)."""
    if observed is None:
        return []
    state = observed.get("power_state")
    if state in (None, "off") or desired.get("power_state") == "off":
        return []  # an off VM is reconfigured as it is; powering off for a VM meant to be off cycles nothing
    slow = []
    for key, flag in HOT_ADD_FLAGS.items():
        want, have = desired.get(key), observed.get(key)
        if not isinstance(want, int | float) or not isinstance(have, int | float) or want == have:
            continue
        if not (state == "on" and want > have and observed.get(flag) is True):
            slow.append(key)
    return slow


def rules_for(desired: dict[str, Any], observed: dict[str, Any] | None) -> DiffRules:
    """Pure: the diff rules of one VM, naming the fields whose change powers it off and on again."""
    slow = power_cycle_fields(desired, observed)
    return DIFF_RULES.model_copy(update={"restart_fields": slow}, deep=True) if slow else DIFF_RULES


DEFAULT_NETWORK = "VM Network"
DEFAULT_GUEST_ID = "otherLinux64Guest"
DEFAULT_MEMORY_MB = 1024
DEFAULT_BOOT_DISK_GB = 16.0
SCSI_CONTROLLER_UNIT = 7

_OWNER_LINE = re.compile(
    rf"^{re.escape(OWNER_LABEL)}={re.escape(OWNER_VALUE)} lab=(?P<lab>\S+) resource=(?P<resource>\S+)\s*$",
    re.MULTILINE,
)

OPTION_KEYS = {
    "datacenter",
    "datastore",
    "network",
    "folder",
    "resource_pool",
    "clone_template",
    "guest_id",
    "cpu_hot_add",
    "memory_hot_add",
    "annotation",
    "power_state",
    "allow_power_cycle",
    "thin_provisioned",
    "adapter",
    # The vsphere-vm chart's values: accepted so one overrides.vmware block serves both.
    "domain",
    "root_disk_gb",
}


def ownership_line(lab: str, resource: str) -> str:
    """The line homeport writes into a VM's notes: who manages it, for which lab and resource."""
    return f"{OWNER_LABEL}={OWNER_VALUE} lab={lab} resource={resource}"


def notes_with_owner(user_notes: str, lab: str, resource: str) -> str:
    """The full notes of a managed VM: the user's text (if any), then the ownership line."""
    text = _OWNER_LINE.sub("", user_notes).strip()
    line = ownership_line(lab, resource)
    return f"{text}\n{line}" if text else line


@dataclass(frozen=True)
class Ownership:
    """Who manages a VM, read from its custom attributes or, failing those, its notes."""

    owned: bool
    lab: str | None = None
    resource: str | None = None
    source: str = ""


def vm_ownership(vm: VmFacts) -> Ownership:
    """Custom attributes decide; the notes line counts when they are missing (ESXi, a half-done create)."""
    if vm.custom.get(OWNER_LABEL) == OWNER_VALUE and vm.custom.get(LAB_LABEL):
        return Ownership(True, vm.custom[LAB_LABEL], vm.custom.get(RESOURCE_LABEL) or vm.name, "attribute")
    if OWNER_LABEL in vm.custom or LAB_LABEL in vm.custom:
        # Attributes exist but name someone else (or were cleared): not ours, whatever the notes say.
        return Ownership(False)
    match = _OWNER_LINE.search(vm.annotation)
    if match:
        return Ownership(True, match.group("lab"), match.group("resource"), "notes")
    return Ownership(False)


@dataclass(frozen=True)
class VmOptions:
    """Where and how to create a VM: from `overrides.vmware` over the pool's and template's properties."""

    datacenter: str | None = None
    datastore: str | None = None
    network: str = DEFAULT_NETWORK
    folder: str | None = None
    resource_pool: str | None = None
    clone_template: str | None = None
    guest_id: str = DEFAULT_GUEST_ID
    cpu_hot_add: bool = False
    memory_hot_add: bool = False
    annotation: str = ""
    power_state: str = "on"
    allow_power_cycle: bool | None = None
    thin_provisioned: bool = True
    adapter: str = "vmxnet3"
    domain: str | None = None
    root_disk_gb: float = DEFAULT_BOOT_DISK_GB


def vm_options(resource: EffectiveResource) -> VmOptions:
    """The resource's VMware options; a clear error for an unknown key or a wrong type."""
    merged: dict[str, Any] = {}
    for key, value in resource.properties.items():
        if key in OPTION_KEYS:
            merged[key] = value
    unknown = sorted(set(resource.overrides) - OPTION_KEYS)
    if unknown:
        raise PermanentProviderError(
            f"{resource.source_file or resource.name}: overrides.vmware has unknown keys "
            f"{', '.join(unknown)}; known: {', '.join(sorted(OPTION_KEYS))}"
        )
    merged.update(resource.overrides)
    if "network" not in merged:
        if resource.network.bridge:
            merged["network"] = resource.network.bridge
        elif resource.requirements.network not in ("", "default"):
            merged["network"] = resource.requirements.network
    if merged.get("power_state", "on") not in ("on", "off"):
        raise PermanentProviderError(
            f"{resource.name}: overrides.vmware.power_state must be 'on' or 'off', not {merged['power_state']!r}"
        )
    root = merged.get("root_disk_gb", DEFAULT_BOOT_DISK_GB)
    if isinstance(root, bool) or not isinstance(root, int | float) or root <= 0:
        raise PermanentProviderError(f"{resource.name}: vmware option root_disk_gb must be a positive number of GiB")
    for key in ("cpu_hot_add", "memory_hot_add", "thin_provisioned", "allow_power_cycle"):
        if key in merged and not isinstance(merged[key], bool):
            raise PermanentProviderError(f"{resource.name}: vmware option {key} must be true or false")
    for key in (
        "datacenter",
        "datastore",
        "network",
        "folder",
        "resource_pool",
        "clone_template",
        "guest_id",
        "annotation",
        "adapter",
        "domain",
    ):
        if key in merged and merged[key] is not None and not isinstance(merged[key], str):
            raise PermanentProviderError(f"{resource.name}: vmware option {key} must be text")
    return VmOptions(**{k: v for k, v in merged.items() if v is not None})


def disk_units(count: int) -> list[int]:
    """SCSI unit numbers for `count` disks in order, skipping unit 7 (the controller's own)."""
    units: list[int] = []
    unit = 0
    while len(units) < count:
        if unit != SCSI_CONTROLLER_UNIT:
            units.append(unit)
        unit += 1
    if units and units[-1] > 15:
        raise PermanentProviderError(f"{count} disks do not fit on one SCSI controller (at most 15)")
    return units


def desired_fields(resource: EffectiveResource) -> dict[str, Any]:
    """The fields observe() reports once the resource is applied."""
    options = vm_options(resource)
    req = resource.requirements
    memory_mb = round(req.memory_gb * 1024) if req.memory_gb else DEFAULT_MEMORY_MB
    units = disk_units(1 + len(req.disks))
    disks: list[dict[str, Any]] = []
    boot = req.storage_gb
    if boot is None and not options.clone_template:
        boot = float(options.root_disk_gb)
    if boot is not None:
        disks.append({"label": f"scsi0:{units[0]}", "size_gb": round(float(boot), 3)})
    for unit, disk in zip(units[1:], req.disks, strict=True):
        disks.append({"label": f"scsi0:{unit}", "size_gb": round(float(disk.size), 3)})
    fields: dict[str, Any] = {
        "num_cpus": req.cpu or 1,
        "memory_mb": memory_mb,
        "disks": disks,
        "nics": [{"label": "nic0", "network": options.network}],
        "power_state": options.power_state,
        "annotation": notes_with_owner(options.annotation, resource.lab, resource.name),
        "vm_name": resource.name,
    }
    if options.clone_template:
        fields["clone_template"] = options.clone_template  # plan-only: ignored by the diff (DIFF_RULES)
    return fields


def vm_fields(vm: VmFacts) -> dict[str, Any]:
    """The fields of an observed VM, in desired_fields' vocabulary (plus provider-filled extras)."""
    return {
        "num_cpus": vm.num_cpus,
        "memory_mb": vm.memory_mb,
        "disks": [{"label": d.label, "size_gb": d.size_gb} for d in vm.disks],
        "nics": [{"label": n.label, "network": n.network, "adapter": n.adapter, "mac": n.mac} for n in vm.nics],
        "power_state": vm.power_state,
        "annotation": vm.annotation,
        "vm_name": vm.name,
        "cpu_hot_add": vm.cpu_hot_add,
        "memory_hot_add": vm.memory_hot_add,
    }


def describe(fields: dict[str, Any]) -> str:
    """One line for a no-op reason: '2 vCPU, 4096 MiB, 1 disk, on'."""
    disks = fields.get("disks") or []
    return (
        f"{fields.get('num_cpus')} vCPU, {fields.get('memory_mb')} MiB, "
        f"{len(disks)} disk{'s' if len(disks) != 1 else ''}, {fields.get('power_state')}"
    )


def vm_demand(resource: EffectiveResource, fields: dict[str, Any]) -> Demand:
    """Pure: what a new VM allocates on its host: configured vCPUs and memory (a VM without cpu or memory is
    created with 1 vCPU / DEFAULT_MEMORY_MB, and the notes say so), its disks on the chosen datastore."""
    req = resource.requirements
    notes = []
    if req.cpu is None:
        notes.append(f"cpu unset: the VM is created with {fields.get('num_cpus', 1)} vCPU")
    if req.memory_gb is None:
        notes.append(f"memory unset: the VM is created with {fields.get('memory_mb', DEFAULT_MEMORY_MB)} MiB")
    datastore = vm_options(resource).datastore
    return Demand(
        cpu=float(fields.get("num_cpus") or 1),
        memory_gb=float(fields.get("memory_mb") or DEFAULT_MEMORY_MB) / 1024,
        gpus=req.gpu_count,
        gpu_model=req.gpu_model,
        storage_gb=float(sum(float(d.get("size_gb") or 0) for d in fields.get("disks") or [])) if datastore else 0.0,
        storage_pool=datastore,
        notes=tuple(notes),
    )
