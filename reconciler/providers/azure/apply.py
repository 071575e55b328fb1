"""The `api` executor: direct Compute and Network calls. The only code (with apply_arm) that changes Azure.

Every write is an idempotent PUT/PATCH/DELETE of a deterministically named, tagged resource, so a
rerun after a crash converges instead of duplicating. Long-running operations are awaited with a
deadline (`options.lro_timeout`); one still running after it is a transient error, checked again
on the next attempt. A size change deallocates, resizes, then starts the VM.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.models.effective import EffectiveResource
from reconciler.models.plan import Change, Op
from reconciler.providers.azure.clients import AzureClients
from reconciler.providers.azure.errors import azure_call
from reconciler.providers.azure.facts import VmFacts, parse_nic, parse_vm
from reconciler.providers.azure.fields import (
    DISK_TAG,
    azure_settings,
    data_disk_name,
    image_reference,
    nic_name,
    nsg_name,
    os_disk_name,
    ownership_tags,
    public_ip_name,
)
from reconciler.providers.azure.observe import as_json, read_optional, read_vm, vm_fields
from reconciler.providers.azure.settings import AzureSettings
from reconciler.providers.base import ApplyResult, RenderedArtifacts
from reconciler.providers.errors import PermanentProviderError, TransientProviderError

TEMPLATE_FILE = "azuredeploy.json"


@dataclass(frozen=True)
class Where:
    """Subscription, resource group and location of one resource."""

    subscription: str
    group: str
    location: str

    def id(self, rtype: str, name: str) -> str:
        """The ARM id of a resource of rtype ('Microsoft.Network/networkInterfaces') called name here."""
        return f"/subscriptions/{self.subscription}/resourceGroups/{self.group}/providers/{rtype}/{name}"


@dataclass(frozen=True)
class VmOptions:
    """Create-time settings that are not compared fields: admin user, SSH key, disk types, cloud-init."""

    admin_username: str = "homeport"
    ssh_public_key: str | None = None
    os_disk_type: str = "Premium_LRS"
    data_disk_type: str = "Premium_LRS"
    ingress_source: str = "VirtualNetwork"
    computer_name: str | None = None
    custom_data: str | None = None


def vm_options(resource: EffectiveResource | None, settings: AzureSettings,
               artifacts: RenderedArtifacts | None) -> VmOptions:
    """Create-time settings from the pool/overrides, the provider's options and the rendered chart."""
    chosen = azure_settings(resource) if resource is not None else {}
    options = settings.options
    key = chosen.get("ssh_public_key") or options.ssh_public_key
    key_file = chosen.get("ssh_public_key_file") or options.ssh_public_key_file
    if not key and key_file:
        try:
            key = Path(str(key_file)).expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise PermanentProviderError(f"azure: cannot read ssh_public_key_file {key_file}: {exc.strerror}") from exc
    custom = None
    if artifacts is not None and TEMPLATE_FILE in artifacts.files:
        template = json.loads(artifacts.files[TEMPLATE_FILE])
        cloud_init = (template.get("variables") or {}).get("cloudInit")
        custom = str(cloud_init) if cloud_init else None
    hostname = resource.network.hostname if resource is not None else None
    return VmOptions(
        admin_username=str(chosen.get("admin_username") or options.admin_username),
        ssh_public_key=str(key) if key else None,
        os_disk_type=str(chosen.get("os_disk_type") or "Premium_LRS"),
        data_disk_type=str(chosen.get("data_disk_type") or "Premium_LRS"),
        ingress_source=str(chosen.get("ingress_source") or options.ingress_source),
        computer_name=hostname,
        custom_data=custom,
    )


def nsg_body(location: str, tags: dict[str, str], ingress: list[str], source: str) -> dict[str, Any]:
    """An NSG allowing each 'proto:port' from source (priorities 1000, 1010, ... in sorted order)."""
    rules = []
    for index, rule in enumerate(sorted(ingress)):
        proto, port = rule.split(":")
        rules.append({"name": f"allow-{proto}-{port}", "properties": {
            "priority": 1000 + index * 10, "direction": "Inbound", "access": "Allow",
            "protocol": proto.capitalize(), "sourcePortRange": "*", "destinationPortRange": port,
            "sourceAddressPrefix": source, "destinationAddressPrefix": "*"}})
    return {"location": location, "tags": tags, "properties": {"securityRules": rules}}


@dataclass
class ApiExecutor:
    """Creates, converges and deletes one VM with its NIC, NSG, optional public IP and managed disks."""

    clients: AzureClients
    settings: AzureSettings
    lab: str
    done: list[str] = field(default_factory=list)

    # -- plumbing -------------------------------------------------------------------------
    def lro(self, action: str, begin: Any, *args: Any, **kwargs: Any) -> Any:
        """Start a long-running operation and wait for it, at most options.lro_timeout seconds."""
        poller = azure_call(action, begin, *args, **kwargs)
        deadline = self.settings.options.lro_timeout
        result = azure_call(action, poller.result, timeout=deadline)
        if not poller.done():
            raise TransientProviderError(f"azure {action}: still running after {deadline:g} s; "
                                         "checked again on the next attempt", delay=60.0)
        return result

    def compute(self, where: Where) -> Any:
        """The compute client of where's subscription."""
        return self.clients.compute(where.subscription)

    def network(self, where: Where) -> Any:
        """The network client of where's subscription."""
        return self.clients.network(where.subscription)

    # -- pieces ---------------------------------------------------------------------------
    def put_nsg(self, where: Where, name: str, ingress: list[str], source: str) -> str:
        """The VM's network security group with exactly the wanted inbound rules."""
        body = nsg_body(where.location, ownership_tags(self.lab, name), ingress, source)
        self.lro(f"put NSG {nsg_name(name)}", self.network(where).network_security_groups.begin_create_or_update,
                 where.group, nsg_name(name), body)
        return where.id("Microsoft.Network/networkSecurityGroups", nsg_name(name))

    def put_public_ip(self, where: Where, name: str) -> str:
        """A static Standard public IP for the VM."""
        body = {"location": where.location, "tags": ownership_tags(self.lab, name), "sku": {"name": "Standard"},
                "properties": {"publicIPAllocationMethod": "Static", "publicIPAddressVersion": "IPv4"}}
        self.lro(f"put public IP {public_ip_name(name)}",
                 self.network(where).public_ip_addresses.begin_create_or_update, where.group, public_ip_name(name),
                 body)
        return where.id("Microsoft.Network/publicIPAddresses", public_ip_name(name))

    def put_nic(self, where: Where, name: str, subnet_id: str, nsg_id: str, public_ip_id: str | None) -> str:
        """The VM's NIC on the subnet, with its NSG and (when asked) public IP."""
        config: dict[str, Any] = {"privateIPAllocationMethod": "Dynamic", "subnet": {"id": subnet_id}}
        if public_ip_id:
            config["publicIPAddress"] = {"id": public_ip_id}
        body = {"location": where.location, "tags": ownership_tags(self.lab, name), "properties": {
            "networkSecurityGroup": {"id": nsg_id},
            "ipConfigurations": [{"name": "ipconfig1", "properties": config}]}}
        self.lro(f"put NIC {nic_name(name)}", self.network(where).network_interfaces.begin_create_or_update,
                 where.group, nic_name(name), body)
        return where.id("Microsoft.Network/networkInterfaces", nic_name(name))

    def put_disk(self, where: Where, name: str, disk: str, size_gb: int, sku: str) -> str:
        """An empty managed data disk, tagged with the resource and the disk's name."""
        body = {"location": where.location, "tags": {**ownership_tags(self.lab, name), DISK_TAG: disk},
                "sku": {"name": sku}, "properties": {"creationData": {"createOption": "Empty"},
                                                     "diskSizeGB": size_gb}}
        self.lro(f"put disk {data_disk_name(name, disk)}", self.compute(where).disks.begin_create_or_update,
                 where.group, data_disk_name(name, disk), body)
        return where.id("Microsoft.Compute/disks", data_disk_name(name, disk))

    def vm_body(self, where: Where, name: str, desired: dict[str, Any], options: VmOptions, nic_id: str,
                disk_ids: list[str]) -> dict[str, Any]:
        """The VM's PUT body."""
        if not options.ssh_public_key:
            raise PermanentProviderError(
                f"{name}: no SSH public key for the VM's admin user: set options.ssh_public_key_file on the azure "
                "provider (or ssh_public_key in the pool's properties)"
            )
        os_disk: dict[str, Any] = {"name": os_disk_name(name), "createOption": "FromImage",
                                   "managedDisk": {"storageAccountType": options.os_disk_type}}
        if desired.get("os_disk_gb"):
            os_disk["diskSizeGB"] = int(desired["os_disk_gb"])
        user = options.admin_username
        cloud_init = options.custom_data or f"#cloud-config\nhostname: {options.computer_name or name}\n"
        return {
            "location": where.location,
            "tags": {**desired.get("tags", {}), **ownership_tags(self.lab, name)},
            "properties": {
                "hardwareProfile": {"vmSize": desired["vm_size"]},
                "storageProfile": {
                    "imageReference": image_reference(desired["image"]),
                    "osDisk": os_disk,
                    "dataDisks": [{"lun": lun, "createOption": "Attach", "managedDisk": {"id": disk_id}}
                                  for lun, disk_id in enumerate(disk_ids)],
                },
                "osProfile": {
                    "computerName": (options.computer_name or name)[:64],
                    "adminUsername": user,
                    "customData": base64.b64encode(cloud_init.encode()).decode(),
                    "linuxConfiguration": {"disablePasswordAuthentication": True, "ssh": {"publicKeys": [
                        {"path": f"/home/{user}/.ssh/authorized_keys", "keyData": options.ssh_public_key}]}},
                },
                "networkProfile": {"networkInterfaces": [{"id": nic_id, "properties": {"primary": True}}]},
            },
        }

    # -- create ---------------------------------------------------------------------------
    def create(self, where: Where, name: str, desired: dict[str, Any], options: VmOptions) -> ApplyResult:
        """NSG, public IP (when asked), NIC, data disks, then the VM; each an idempotent PUT."""
        existing = read_vm(self.clients, where.subscription, where.group, name)
        if existing is not None:
            vm = parse_vm(existing)
            self._check_ours(vm, name)
            result = self.converge(where, vm, desired, options)
            result.message = f"VM {name} already existed; {result.message}"
            return result
        nsg_id = self.put_nsg(where, name, desired.get("ingress", []), options.ingress_source)
        public_ip = self.put_public_ip(where, name) if desired.get("public_ip") else None
        nic_id = self.put_nic(where, name, desired["subnet_id"], nsg_id, public_ip)
        disk_ids = [self.put_disk(where, name, d["name"], int(d["size_gb"]), options.data_disk_type)
                    for d in desired.get("disks", [])]
        body = self.vm_body(where, name, desired, options, nic_id, disk_ids)
        created = self.lro(f"create VM {name}", self.compute(where).virtual_machines.begin_create_or_update,
                           where.group, name, body)
        vm_id = as_json(created).get("id") if created is not None else where.id("Microsoft.Compute/virtualMachines",
                                                                                 name)
        return ApplyResult(
            provider_id=str(vm_id), node=where.location,
            message=f"created VM {name} ({desired['vm_size']}, {desired['image']}) in {where.group}"
            + (f" with {len(disk_ids)} data disk(s)" if disk_ids else "") + (" and a public IP" if public_ip else ""),
            outputs={"vm_id": vm_id, "nic_id": nic_id, "nsg_id": nsg_id, "public_ip_id": public_ip},
        )

    def _check_ours(self, vm: VmFacts, name: str) -> None:
        tags = vm.tags
        if tags.get("homeport.lab") != self.lab or tags.get("homeport.resource") != name:
            owner = tags.get("homeport.lab") or "nobody (no homeport tags)"
            raise PermanentProviderError(
                f"{name}: VM {vm.id} exists but belongs to {owner}; homeport never touches a VM it does not own: "
                "rename the resource or adopt the VM by a proposal"
            )

    # -- converge -------------------------------------------------------------------------
    def converge(self, where: Where, vm: VmFacts, desired: dict[str, Any], options: VmOptions,
                 removed: list[str] | None = None) -> ApplyResult:
        """Bring a live VM to the desired fields in place; a resize or OS disk growth deallocates it first."""
        name = vm.name
        network = self.network(where)
        nic = None
        if vm.nic_ids:
            nic_json = read_optional("read NIC", network.network_interfaces.get, where.group,
                                     vm.nic_ids[0].rsplit("/", 1)[-1])
            nic = parse_nic(nic_json) if nic_json else None
        nsg = None
        if nic is not None and nic.nsg_id:
            nsg = read_optional("read NSG", network.network_security_groups.get, where.group,
                                nic.nsg_id.rsplit("/", 1)[-1])
        current = vm_fields(vm, nic, nsg)
        done: list[str] = []
        compute = self.compute(where)

        tags = {**desired.get("tags", {}), **ownership_tags(self.lab, name)}
        if tags != vm.tags:
            self.lro(f"tag VM {name}", compute.virtual_machines.begin_update, where.group, name, {"tags": tags})
            done.append("tags")
        if sorted(desired.get("ingress", [])) != current["ingress"] or nsg is None:
            nsg_id = self.put_nsg(where, name, desired.get("ingress", []), options.ingress_source)
            done.append("ingress " + (", ".join(desired.get("ingress", [])) or "none"))
        else:
            nsg_id = str(nsg["id"])
        if bool(desired.get("public_ip")) != current["public_ip"] and nic is not None:
            public_ip = self.put_public_ip(where, name) if desired.get("public_ip") else None
            self.put_nic(where, name, nic.subnet_id or desired["subnet_id"], nsg_id, public_ip)
            if public_ip is None and nic.public_ip_id:
                self.lro("delete public IP", network.public_ip_addresses.begin_delete, where.group,
                         nic.public_ip_id.rsplit("/", 1)[-1])
            done.append("public IP " + ("added" if public_ip else "removed"))
        done.extend(self._converge_disks(where, vm, desired, options, removed or []))

        size = desired.get("vm_size")
        resize = bool(size) and size != vm.vm_size
        grow_os = bool(desired.get("os_disk_gb")) and vm.os_disk_gb is not None and \
            int(desired["os_disk_gb"]) > int(vm.os_disk_gb)
        if desired.get("os_disk_gb") and vm.os_disk_gb is not None and int(desired["os_disk_gb"]) < vm.os_disk_gb:
            raise PermanentProviderError(f"{name}: an Azure OS disk cannot shrink ({vm.os_disk_gb} GiB -> "
                                         f"{desired['os_disk_gb']} GiB); keep the size or replace the resource")
        power = vm.power_state
        if resize or grow_os:
            if power not in ("deallocated",):
                self.lro(f"deallocate VM {name}", compute.virtual_machines.begin_deallocate, where.group, name)
                done.append("deallocated")
                power = "deallocated"
            if resize:
                self.lro(f"resize VM {name}", compute.virtual_machines.begin_update, where.group, name,
                         {"properties": {"hardwareProfile": {"vmSize": size}}})
                done.append(f"resized {vm.vm_size} -> {size}")
            if grow_os and vm.os_disk_id:
                self.lro("grow OS disk", compute.disks.begin_update, where.group, vm.os_disk_id.rsplit("/", 1)[-1],
                         {"properties": {"diskSizeGB": int(desired["os_disk_gb"])}})
                done.append(f"OS disk {vm.os_disk_gb} -> {desired['os_disk_gb']} GiB")
        if desired.get("power_state", "running") == "running" and power != "running":
            self.lro(f"start VM {name}", compute.virtual_machines.begin_start, where.group, name)
            done.append("started")
        message = "; ".join(done) if done else f"VM {name} already matches"
        return ApplyResult(provider_id=vm.id, node=where.location, message=message)

    def _converge_disks(self, where: Where, vm: VmFacts, desired: dict[str, Any], options: VmOptions,
                        removed: list[str]) -> list[str]:
        name = vm.name
        compute = self.compute(where)
        prefix = f"{name}-"
        live = {d.name.removeprefix(prefix): d for d in vm.data_disks}
        done = []
        for disk in desired.get("disks", []):
            have = live.get(disk["name"])
            if have is None or have.size_gb is None:
                continue
            if int(disk["size_gb"]) > have.size_gb:
                self.lro(f"grow disk {have.name}", compute.disks.begin_update, where.group, have.name,
                         {"properties": {"diskSizeGB": int(disk["size_gb"])}})
                done.append(f"disk {disk['name']} {have.size_gb} -> {disk['size_gb']} GiB")
            elif int(disk["size_gb"]) < have.size_gb:
                raise PermanentProviderError(f"{name}: Azure managed disks cannot shrink: {disk['name']} is "
                                             f"{have.size_gb} GiB, the definition asks for {disk['size_gb']} GiB")
        wanted = {d["name"] for d in desired.get("disks", [])}
        dropped = {p[len("disks["):-1] for p in removed if p.startswith("disks[") and p.endswith("]")}
        added = [d for d in desired.get("disks", []) if d["name"] not in live]
        detach = {n for n in live if n in dropped and n not in wanted}
        if not added and not detach:
            return done
        attached = [{"lun": d.lun, "createOption": "Attach", "managedDisk": {"id": d.id}}
                    for n, d in live.items() if n not in detach and d.id]
        used = {d.lun for d in vm.data_disks}
        free = (lun for lun in range(64) if lun not in used)
        for disk in added:
            disk_id = self.put_disk(where, name, disk["name"], int(disk["size_gb"]), options.data_disk_type)
            attached.append({"lun": next(free), "createOption": "Attach", "managedDisk": {"id": disk_id}})
            done.append(f"attached disk {disk['name']} ({disk['size_gb']} GiB)")
        done.extend(f"detached disk {n} (kept)" for n in sorted(detach))
        self.lro(f"attach disks to {name}", compute.virtual_machines.begin_update, where.group, name,
                 {"properties": {"storageProfile": {"dataDisks": attached}}})
        return done

    # -- delete ---------------------------------------------------------------------------
    def delete(self, where: Where, name: str) -> ApplyResult:
        """Delete the VM, then its NIC, public IP, NSG and disks (owned, by name); fine when already gone."""
        compute, network = self.compute(where), self.network(where)
        done = []
        raw = read_vm(self.clients, where.subscription, where.group, name)
        vm = parse_vm(raw) if raw is not None else None
        if vm is not None:
            self._check_ours(vm, name)
            self.lro(f"delete VM {name}", compute.virtual_machines.begin_delete, where.group, name)
            done.append(f"deleted VM {name}")
        for action, begin, target in (
            ("delete NIC", network.network_interfaces.begin_delete, nic_name(name)),
            ("delete public IP", network.public_ip_addresses.begin_delete, public_ip_name(name)),
            ("delete NSG", network.network_security_groups.begin_delete, nsg_name(name)),
        ):
            self.lro(action, begin, where.group, target)
        disks = [os_disk_name(name)]
        if vm is not None:
            disks = sorted({*disks, *(d.name for d in vm.data_disks)} | (
                {vm.os_disk_name} if vm.os_disk_name else set()))
        for disk in disks:
            existing = read_optional("read disk", compute.disks.get, where.group, disk)
            if existing and (existing.get("tags") or {}).get("homeport.lab", self.lab) == self.lab:
                self.lro(f"delete disk {disk}", compute.disks.begin_delete, where.group, disk)
                done.append(f"deleted disk {disk}")
        return ApplyResult(provider_id=vm.id if vm else None, message="; ".join(done) or f"{name} was already absent")

    # -- dispatch -------------------------------------------------------------------------
    def apply(self, where: Where, change: Change, options: VmOptions) -> ApplyResult:
        """Carry out one change: create, update, replace (delete, then create) or delete."""
        name = change.resource
        if change.op is Op.create:
            return self.create(where, name, change.desired, options)
        if change.op is Op.update:
            raw = read_vm(self.clients, where.subscription, where.group, name)
            if raw is None:
                return self.create(where, name, change.desired, options)
            vm = parse_vm(raw)
            self._check_ours(vm, name)
            removed = [f.path for f in change.fields if f.new is None and f.old is not None]
            return self.converge(where, vm, change.desired, options, removed)
        if change.op is Op.delete:
            return self.delete(where, name)
        if change.op is Op.replace:
            gone = self.delete(where, name)
            created = self.create(where, name, change.desired, options)
            created.message = f"{gone.message}; {created.message}"
            return created
        if change.op is Op.rename:
            raise PermanentProviderError(
                f"{name}: an Azure VM cannot be renamed; rename is a delete of {change.previous_name} and a create"
            )
        return ApplyResult(provider_id=change.provider_id, message=change.reason)

