# mypy: disable-error-code="no-untyped-call"
"""The only code that changes vSphere: create (clone or CreateVM_Task), reconfigure, power, rename, destroy.

Every entry point reads the live state first and converges to the desired fields, so calling it
again after a crash (or twice) does no harm: a create finds the VM it made before and finishes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pyVmomi import vim

from reconciler.models.effective import EffectiveResource
from reconciler.models.plan import Change, Op
from reconciler.providers.base import LAB_LABEL, OWNER_LABEL, OWNER_VALUE, RESOURCE_LABEL, ApplyResult
from reconciler.providers.errors import PermanentProviderError
from reconciler.providers.vmware.connection import Connection
from reconciler.providers.vmware.errors import vsphere_errors
from reconciler.providers.vmware.facts import HostFacts, Snapshot, VmFacts
from reconciler.providers.vmware.fields import (
    VmOptions,
    notes_with_owner,
    vm_options,
    vm_ownership,
)
from reconciler.providers.vmware.observe import observe_snapshot
from reconciler.providers.vmware.placement import clone_source, pick_datastore, pick_host
from reconciler.providers.vmware.settings import VmwareSettings
from reconciler.providers.vmware.tasks import wait_for_task

KIB_PER_GIB = 1024 * 1024
DEVICE_PATH = re.compile(r"(disks|nics)\[([^\]]+)\]")
ADAPTERS: dict[str, type] = {
    "vmxnet3": vim.vm.device.VirtualVmxnet3,
    "e1000": vim.vm.device.VirtualE1000,
    "e1000e": vim.vm.device.VirtualE1000e,
}


@dataclass
class ApplyLog:
    """What an apply did, in order ('power_off', 'reconfigure: num_cpus', ...): returned in outputs."""

    actions: list[str] = field(default_factory=list)

    def add(self, action: str) -> None:
        """Record one action."""
        self.actions.append(action)


def removed_devices(change: Change) -> dict[str, set[str]]:
    """Labels of disks and NICs the plan removes ('disks[scsi0:2]' with new None)."""
    removed: dict[str, set[str]] = {}
    for item in change.fields:
        match = DEVICE_PATH.fullmatch(item.path)
        if match and item.new is None:
            removed.setdefault(match.group(1), set()).add(match.group(2))
    return removed


class VmApplier:
    """Carries out one change against vSphere for a lab."""

    def __init__(self, conn: Connection, settings: VmwareSettings, lab: str) -> None:
        self.conn = conn
        self.settings = settings
        self.lab = lab
        self.log = ApplyLog()

    # -- lookups -----------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """A fresh read of the inventory (one retrieval)."""
        return observe_snapshot(self.conn, self.settings.page_size, self.settings.full_refresh_every)

    def owned_vm(self, snapshot: Snapshot, resource: str) -> VmFacts | None:
        """The VM this lab manages as `resource`, if any."""
        for vm in snapshot.vms.values():
            own = vm_ownership(vm)
            if own.owned and own.lab == self.lab and own.resource == resource and not vm.template:
                return vm
        return None

    def ref(self, kind: type, moid: str) -> Any:
        """A managed object reference bound to this session."""
        return kind(moid, self.conn.si._stub)

    def vm_ref(self, vm: VmFacts) -> vim.VirtualMachine:
        """The VM's managed object."""
        ref: vim.VirtualMachine = self.ref(vim.VirtualMachine, vm.moid)
        return ref

    def run_task(self, task: vim.Task, action: str) -> Any:
        """Wait for a task within the configured timeout."""
        return wait_for_task(self.conn, task, self.settings.task_timeout, action)

    # -- entry point -------------------------------------------------------------------------

    def apply(self, change: Change, resource: EffectiveResource | None) -> ApplyResult:
        """Dispatch on the change's op."""
        if change.op is Op.noop:
            return ApplyResult(provider_id=change.provider_id, message=change.reason)
        if change.op is Op.delete:
            return self.delete(change.resource)
        if resource is None:
            raise PermanentProviderError(f"{change.resource}: a {change.op.value} needs the desired resource")
        if change.op is Op.replace:
            self.delete(change.resource)
            return self.create(change, resource)
        if change.op is Op.rename:
            return self.rename(change, resource)
        if change.op is Op.create:
            return self.create(change, resource)
        return self.update(change, resource)

    # -- create ------------------------------------------------------------------------------

    def create(self, change: Change, resource: EffectiveResource) -> ApplyResult:
        """Create the VM unless it exists already (then converge it); refuse a same-named VM we do not own."""
        snapshot = self.snapshot()
        existing = self.owned_vm(snapshot, resource.name)
        if existing is not None:
            self.log.add("exists: converge")
            return self.converge(snapshot, existing, change.desired, resource)
        # vCenter accepts duplicate names in different folders; never create beside a stranger.
        strangers = [vm for vm in snapshot.vms.values() if vm.name == resource.name]
        if strangers:
            raise PermanentProviderError(
                f"{resource.name}: a VM of that name already exists ({strangers[0].moid}) and homeport "
                "does not manage it; rename or remove it, or adopt it through a proposal"
            )
        options = vm_options(resource)
        host = pick_host(snapshot, change.node or resource.node, resource)
        compute = snapshot.computes.get(host.parent_moid or "")
        if compute is None or compute.resource_pool is None:
            raise PermanentProviderError(f"{resource.name}: host {host.name} has no resource pool to place a VM in")
        datacenter = self.datacenter_of(host)
        wanted_dc = options.datacenter or self.settings.datacenter
        if wanted_dc and datacenter.name != wanted_dc:
            raise PermanentProviderError(
                f"{resource.name}: host {host.name} is in datacenter {datacenter.name!r}, not {wanted_dc!r}; "
                "fix the node or the datacenter setting"
            )
        folder = self.vm_folder(datacenter, options, resource.name)
        datastore = pick_datastore(snapshot, host, options, resource.name)
        pool = self.ref(vim.ResourcePool, compute.resource_pool)
        if options.resource_pool:
            path = f"{datacenter.name}/host/{compute.name}/Resources/{options.resource_pool.strip('/')}"
            with vsphere_errors(f"{resource.name}: find resource pool {options.resource_pool}"):
                pool = self.conn.content.searchIndex.FindByInventoryPath(path)
            if not isinstance(pool, vim.ResourcePool):
                raise PermanentProviderError(
                    f"{resource.name}: resource pool {path!r} not found; fix overrides.vmware.resource_pool"
                )
        host_ref = self.ref(vim.HostSystem, host.moid)
        notes = notes_with_owner(options.annotation, self.lab, resource.name)
        desired = change.desired
        if options.clone_template:
            source = clone_source(snapshot, options.clone_template, resource.name)
            spec = vim.vm.CloneSpec(
                location=vim.vm.RelocateSpec(pool=pool, host=host_ref, datastore=self.ref(vim.Datastore, datastore)),
                powerOn=False,
                template=False,
                config=vim.vm.ConfigSpec(
                    annotation=notes, numCPUs=int(desired["num_cpus"]), memoryMB=int(desired["memory_mb"])
                ),
            )
            with vsphere_errors(f"{resource.name}: clone {options.clone_template}"):
                task = self.vm_ref(source).CloneVM_Task(folder=folder, name=resource.name, spec=spec)
            vm_obj = self.run_task(task, f"{resource.name}: clone {options.clone_template}")
            self.log.add(f"clone: {options.clone_template}")
        else:
            ds_name = snapshot.datastores[datastore].name
            config = self.create_spec(snapshot, host, resource.name, desired, options, notes, ds_name)
            with vsphere_errors(f"{resource.name}: create VM"):
                task = folder.CreateVM_Task(config=config, pool=pool, host=host_ref)
            vm_obj = self.run_task(task, f"{resource.name}: create VM")
            self.log.add("create")
        moid = str(vm_obj._moId)
        self.mark_owned(moid, resource.name, snapshot)
        # Converge from a fresh read: disks, NICs and power that the create or clone left out.
        fresh = self.snapshot()
        return self.converge(fresh, fresh.vms[moid], desired, resource)

    def datacenter_of(self, host: HostFacts) -> vim.Datacenter:
        """Walk up from a host to its datacenter (a few property reads, only when creating)."""
        with vsphere_errors(f"find the datacenter of host {host.name}"):
            obj: Any = self.ref(vim.HostSystem, host.moid)
            while obj is not None and not isinstance(obj, vim.Datacenter):
                obj = obj.parent
        if obj is None:
            raise PermanentProviderError(f"host {host.name} is not inside a datacenter")
        return obj

    def vm_folder(self, datacenter: vim.Datacenter, options: VmOptions, name: str) -> vim.Folder:
        """The datacenter's VM folder, or the folder path the options name inside it."""
        with vsphere_errors(f"{name}: find the VM folder"):
            if not options.folder:
                return datacenter.vmFolder
            path = f"{datacenter.name}/vm/{options.folder.strip('/')}"
            folder = self.conn.content.searchIndex.FindByInventoryPath(path)
        if not isinstance(folder, vim.Folder):
            raise PermanentProviderError(
                f"{name}: VM folder {path!r} not found; create it or fix overrides.vmware.folder"
            )
        return folder

    def network_backing(self, snapshot: Snapshot, host: HostFacts | None, network: str, name: str) -> Any:
        """The NIC backing for a network or distributed port group, by name."""
        candidates = [n for n in snapshot.networks.values() if n.name == network]
        if host is not None:
            candidates = [n for n in candidates if n.moid in host.networks] or candidates
        if not candidates:
            known = sorted({n.name for n in snapshot.networks.values()})
            raise PermanentProviderError(f"{name}: network {network!r} not found; known: {', '.join(known)}")
        net = candidates[0]
        if net.distributed:
            with vsphere_errors(f"{name}: read port group {network}"):
                portgroup = self.ref(vim.dvs.DistributedVirtualPortgroup, net.moid)
                uuid = portgroup.config.distributedVirtualSwitch.uuid
                key = portgroup.key
            return vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo(
                port=vim.dvs.PortConnection(portgroupKey=key, switchUuid=uuid)
            )
        return vim.vm.device.VirtualEthernetCard.NetworkBackingInfo(
            deviceName=network, network=self.ref(vim.Network, net.moid)
        )

    def create_spec(
        self,
        snapshot: Snapshot,
        host: HostFacts,
        name: str,
        desired: dict[str, Any],
        options: VmOptions,
        notes: str,
        datastore: str,
    ) -> vim.vm.ConfigSpec:
        """CreateVM_Task's config: CPU, memory, notes, one SCSI controller, the disks and the NICs."""
        changes: list[Any] = [
            vim.vm.device.VirtualDeviceSpec(
                operation="add",
                device=vim.vm.device.ParaVirtualSCSIController(key=-100, busNumber=0, sharedBus="noSharing"),
            )
        ]
        for index, disk in enumerate(desired.get("disks") or []):
            changes.append(self.new_disk(-200 - index, -100, disk, options))
        for index, nic in enumerate(desired.get("nics") or []):
            changes.append(self.new_nic(-300 - index, snapshot, host, nic["network"], options, name))
        return vim.vm.ConfigSpec(
            name=name,
            guestId=options.guest_id,
            numCPUs=int(desired["num_cpus"]),
            memoryMB=int(desired["memory_mb"]),
            annotation=notes,
            cpuHotAddEnabled=options.cpu_hot_add,
            memoryHotAddEnabled=options.memory_hot_add,
            files=vim.vm.FileInfo(vmPathName=f"[{datastore}]"),
            deviceChange=changes,
        )

    @staticmethod
    def new_disk(key: int, controller_key: int, disk: dict[str, Any], options: VmOptions) -> Any:
        """A device spec adding a new disk at the label's unit number."""
        unit = int(str(disk["label"]).split(":")[1])
        return vim.vm.device.VirtualDeviceSpec(
            operation="add",
            fileOperation="create",
            device=vim.vm.device.VirtualDisk(
                key=key,
                controllerKey=controller_key,
                unitNumber=unit,
                capacityInKB=round(float(disk["size_gb"]) * KIB_PER_GIB),
                backing=vim.vm.device.VirtualDisk.FlatVer2BackingInfo(
                    diskMode="persistent", thinProvisioned=options.thin_provisioned
                ),
            ),
        )

    def new_nic(
        self,
        key: int,
        snapshot: Snapshot,
        host: HostFacts | None,
        network: str,
        options: VmOptions,
        name: str,
    ) -> Any:
        """A device spec adding a NIC on `network`."""
        adapter = ADAPTERS.get(options.adapter)
        if adapter is None:
            raise PermanentProviderError(
                f"{name}: NIC adapter {options.adapter!r} unknown; use one of {', '.join(ADAPTERS)}"
            )
        return vim.vm.device.VirtualDeviceSpec(
            operation="add",
            device=adapter(
                key=key,
                backing=self.network_backing(snapshot, host, network, name),
                connectable=vim.vm.device.VirtualDevice.ConnectInfo(startConnected=True, allowGuestControl=True),
            ),
        )

    # -- ownership ---------------------------------------------------------------------------

    def ownership_values(self, resource: str) -> dict[str, str]:
        """The custom attribute values that mark a VM as this lab's `resource`."""
        return {OWNER_LABEL: OWNER_VALUE, LAB_LABEL: self.lab, RESOURCE_LABEL: resource}

    def ownership_keys(self, snapshot: Snapshot, resource: str) -> dict[str, int]:
        """The custom attribute keys of homeport's marks, defining any that are missing (vCenter only)."""
        manager = self.conn.content.customFieldsManager
        if manager is None:
            return {}
        keys = {name: key for key, name in snapshot.custom_fields.items()}
        with vsphere_errors(f"{resource}: define ownership attributes"):
            for name in self.ownership_values(resource):
                if name not in keys:
                    try:
                        field_def = manager.AddCustomFieldDef(name=name, moType=vim.VirtualMachine)
                        keys[name] = int(field_def.key)
                    except vim.fault.DuplicateName:
                        # Another run defined it meanwhile: read the definitions again.
                        keys.update({str(f.name): int(f.key) for f in manager.field})
        return {name: keys[name] for name in self.ownership_values(resource)}

    def mark_owned(self, moid: str, resource: str, snapshot: Snapshot) -> None:
        """Set the homeport custom attributes on a VM (vCenter only; the notes line covers ESXi)."""
        manager = self.conn.content.customFieldsManager
        if manager is None:
            return
        keys = self.ownership_keys(snapshot, resource)
        with vsphere_errors(f"{resource}: set ownership attributes"):
            for name, value in self.ownership_values(resource).items():
                manager.SetField(entity=self.ref(vim.VirtualMachine, moid), key=keys[name], value=value)
        self.log.add("mark owned")

    # -- update ------------------------------------------------------------------------------

    def update(self, change: Change, resource: EffectiveResource) -> ApplyResult:
        """Converge the managed VM to the desired fields."""
        snapshot = self.snapshot()
        vm = self.owned_vm(snapshot, resource.name)
        if vm is None:
            raise PermanentProviderError(
                f"{resource.name}: no VM managed by lab {self.lab} has this name any more; the next plan creates it"
            )
        removed = removed_devices(change)
        return self.converge(snapshot, vm, change.desired, resource, removed)

    def converge(
        self,
        snapshot: Snapshot,
        vm: VmFacts,
        desired: dict[str, Any],
        resource: EffectiveResource,
        removed: dict[str, set[str]] | None = None,
    ) -> ApplyResult:
        """Reconfigure CPU, memory, disks, NICs and notes, then power; power-cycle only where allowed."""
        options = vm_options(resource)
        name = resource.name
        spec: Any = vim.vm.ConfigSpec()
        changed: list[str] = []
        needs_cycle: list[str] = []
        # A suspended VM cannot be reconfigured either; only a running one can hot-add.
        state = vm.power_state
        live = state != "off"
        hot = state == "on"
        want_cpus = int(desired.get("num_cpus", vm.num_cpus))
        if want_cpus != vm.num_cpus:
            spec.numCPUs = want_cpus
            changed.append("num_cpus")
            if live and not (hot and want_cpus > vm.num_cpus and vm.cpu_hot_add):
                needs_cycle.append("num_cpus (CPU hot-add is off or this is a decrease)")
        want_memory = int(desired.get("memory_mb", vm.memory_mb))
        if want_memory != vm.memory_mb:
            spec.memoryMB = want_memory
            changed.append("memory_mb")
            if live and not (hot and want_memory > vm.memory_mb and vm.memory_hot_add):
                needs_cycle.append("memory_mb (memory hot-add is off or this is a decrease)")
        if "annotation" in desired and desired["annotation"] != vm.annotation:
            spec.annotation = desired["annotation"]
            changed.append("annotation")
        device_changes = (
            self.disk_changes(vm, desired, options, name)
            + self.nic_changes(snapshot, vm, desired, options, name)
            + self.detach_changes(vm, desired, removed or {})
        )
        if device_changes:
            spec.deviceChange = device_changes
            changed.append("devices")
        want_power = desired.get("power_state", options.power_state)
        if vm.name != name:
            # Renamed by hand in vSphere: the attributes still say whose it is; put the name back.
            clash = [v for v in snapshot.vms.values() if v.name == name and v.moid != vm.moid]
            if clash:
                raise PermanentProviderError(f"{name}: cannot restore the VM's name: {clash[0].moid} has it")
            with vsphere_errors(f"{vm.name}: rename to {name}"):
                task = self.vm_ref(vm).Rename_Task(newName=name)
            self.run_task(task, f"{vm.name}: rename to {name}")
            self.log.add(f"rename: {vm.name} -> {name}")
        if changed:
            if needs_cycle:
                allowed = options.allow_power_cycle
                if allowed is None:
                    allowed = self.settings.allow_power_cycle
                # Powering off is no cycle when off is the desired state anyway.
                if not allowed and want_power != "off":
                    raise PermanentProviderError(
                        f"{name}: changing {', '.join(needs_cycle)} needs the VM powered off, and power "
                        "cycling is not allowed (allow_power_cycle: false); enable hot-add, allow the "
                        "power cycle, or power it off yourself"
                    )
                self.power(vm, "off", name)
                state = "off"
            with vsphere_errors(f"{name}: reconfigure"):
                task = self.vm_ref(vm).ReconfigVM_Task(spec=spec)
            self.run_task(task, f"{name}: reconfigure {', '.join(changed)}")
            self.log.add(f"reconfigure: {', '.join(changed)}")
            if needs_cycle and want_power == "on":
                self.power(vm, "on", name)
                state = "on"
        if want_power == "on" and state != "on":
            self.power(vm, "on", name)
        elif want_power == "off" and state != "off":
            self.power(vm, "off", name)
        own = vm_ownership(vm)
        if own.source != "attribute":
            self.mark_owned(vm.moid, name, snapshot)
        message = "; ".join(self.log.actions) if self.log.actions else "already as desired"
        return ApplyResult(
            provider_id=vm.moid, node=vm.host, message=message, outputs={"actions": list(self.log.actions)}
        )

    def disk_changes(self, vm: VmFacts, desired: dict[str, Any], options: VmOptions, name: str) -> list[Any]:
        """Grow disks that are too small and add missing ones; shrinking is refused, extra disks are kept."""
        current = {d.label: d for d in vm.disks}
        changes: list[Any] = []
        controller = next((c for c in vm.controllers if c.bus == "scsi" and c.bus_number == 0), None)
        added_controller = False
        for disk in desired.get("disks") or []:
            label = str(disk["label"])
            size = float(disk["size_gb"])
            have = current.get(label)
            if have is not None:
                if size < have.size_gb:
                    raise PermanentProviderError(
                        f"{name}: disk {label} is {have.size_gb} GiB and cannot shrink to {size} GiB; "
                        "restore the size or replace the VM"
                    )
                if size > have.size_gb:
                    # Edit the device as read (vCenter keeps its backing; vcsim needs its deviceInfo).
                    device = self.live_device(vm, have.key)
                    device.capacityInKB = round(size * KIB_PER_GIB)
                    device.capacityInBytes = round(size * KIB_PER_GIB) * 1024
                    changes.append(vim.vm.device.VirtualDeviceSpec(operation="edit", device=device))
                continue
            if not label.startswith("scsi0:"):
                raise PermanentProviderError(f"{name}: can only add disks on scsi0, not {label}")
            if controller is None and not added_controller:
                changes.append(
                    vim.vm.device.VirtualDeviceSpec(
                        operation="add",
                        device=vim.vm.device.ParaVirtualSCSIController(key=-100, busNumber=0, sharedBus="noSharing"),
                    )
                )
                added_controller = True
            controller_key = controller.key if controller else -100
            changes.append(self.new_disk(-200 - len(changes), controller_key, disk, options))
        return changes

    def nic_changes(
        self, snapshot: Snapshot, vm: VmFacts, desired: dict[str, Any], options: VmOptions, name: str
    ) -> list[Any]:
        """Move NICs to the desired network and add missing ones; extra NICs are kept."""
        host = snapshot.hosts.get(vm.host_moid or "")
        current = {n.label: n for n in vm.nics}
        changes: list[Any] = []
        for nic in desired.get("nics") or []:
            have = current.get(str(nic["label"]))
            if have is None:
                changes.append(self.new_nic(-300 - len(changes), snapshot, host, str(nic["network"]), options, name))
            elif have.network != nic["network"]:
                device = self.live_device(vm, have.key)
                device.backing = self.network_backing(snapshot, host, str(nic["network"]), name)
                changes.append(vim.vm.device.VirtualDeviceSpec(operation="edit", device=device))
        return changes

    def detach_changes(self, vm: VmFacts, desired: dict[str, Any], removed: dict[str, set[str]]) -> list[Any]:
        """Remove disks and NICs the plan says were dropped; a disk's file stays on the datastore."""
        changes: list[Any] = []
        wanted = {kind: {str(item["label"]) for item in desired.get(kind) or []} for kind in ("disks", "nics")}
        keys = [d.key for d in vm.disks if d.label in removed.get("disks", set()) - wanted["disks"]]
        keys += [n.key for n in vm.nics if n.label in removed.get("nics", set()) - wanted["nics"]]
        if not keys:
            return changes
        with vsphere_errors(f"{vm.name}: read devices to remove"):
            vm_ref: Any = self.vm_ref(vm)
            devices = [d for d in vm_ref.config.hardware.device if d.key in keys]
        for device in devices:
            # No fileOperation: the disk is detached, its VMDK kept, so data is never lost by a plan.
            changes.append(vim.vm.device.VirtualDeviceSpec(operation="remove", device=device))
        return changes

    def live_device(self, vm: VmFacts, key: int) -> Any:
        """The VM's device with this key, read now (only when a device must be edited)."""
        with vsphere_errors(f"{vm.name}: read device {key}"):
            vm_ref: Any = self.vm_ref(vm)
            for device in vm_ref.config.hardware.device:
                if device.key == key:
                    return device
        raise PermanentProviderError(f"{vm.name}: device {key} disappeared while applying; run again")

    def power(self, vm: VmFacts, state: str, name: str) -> None:
        """Power the VM on or off (hard off: guests without tools cannot shut down cleanly)."""
        with vsphere_errors(f"{name}: power {state}"):
            ref = self.vm_ref(vm)
            task = ref.PowerOnVM_Task() if state == "on" else ref.PowerOffVM_Task()
        self.run_task(task, f"{name}: power {state}")
        self.log.add(f"power_{state}")

    # -- rename and delete -------------------------------------------------------------------

    def rename(self, change: Change, resource: EffectiveResource) -> ApplyResult:
        """Rename the managed VM, then its ownership marks, then converge (idempotent if already renamed)."""
        snapshot = self.snapshot()
        vm = self.owned_vm(snapshot, resource.name)
        if vm is None and change.previous_name:
            vm = self.owned_vm(snapshot, change.previous_name)
        if vm is None:
            raise PermanentProviderError(
                f"{resource.name}: neither it nor {change.previous_name} is a VM this lab manages"
            )
        if vm.name != resource.name:
            clash = [v for v in snapshot.vms.values() if v.name == resource.name and v.moid != vm.moid]
            if clash:
                raise PermanentProviderError(f"{resource.name}: another VM already has this name ({clash[0].moid})")
            with vsphere_errors(f"{vm.name}: rename to {resource.name}"):
                task = self.vm_ref(vm).Rename_Task(newName=resource.name)
            self.run_task(task, f"{vm.name}: rename to {resource.name}")
            self.log.add(f"rename: {vm.name} -> {resource.name}")
        self.mark_owned(vm.moid, resource.name, snapshot)
        fresh = self.snapshot()
        return self.converge(fresh, fresh.vms[vm.moid], change.desired, resource)

    def delete(self, resource: str) -> ApplyResult:
        """Power off and destroy the managed VM; nothing to do when it is gone already."""
        snapshot = self.snapshot()
        vm = self.owned_vm(snapshot, resource)
        if vm is None:
            return ApplyResult(message=f"{resource}: no managed VM left; nothing to delete")
        if vm.power_state != "off":
            self.power(vm, "off", resource)
        with vsphere_errors(f"{resource}: destroy"):
            task = self.vm_ref(vm).Destroy_Task()
        self.run_task(task, f"{resource}: destroy")
        self.log.add("destroy")
        return ApplyResult(
            provider_id=vm.moid,
            node=vm.host,
            message="; ".join(self.log.actions),
            outputs={"actions": list(self.log.actions)},
        )
