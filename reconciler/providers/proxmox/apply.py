"""The only code that changes a PVE cluster: create (from scratch or by clone), converge config, resize,
start/stop, delete (purge). Every operation re-reads the guest first, so it is idempotent and resumable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reconciler.models.effective import EffectiveResource
from reconciler.models.plan import Change, Op
from reconciler.providers.base import ApplyResult, ProviderContext
from reconciler.providers.errors import PermanentProviderError, TransientProviderError
from reconciler.providers.proxmox.client import PveClient
from reconciler.providers.proxmox.errors import LOCK_DELAY
from reconciler.providers.proxmox.facts import fields_from_config, is_cloudinit, parse_disk_marker
from reconciler.providers.proxmox.fields import (
    LXC_ROOT,
    clone_source,
    config_params,
    description_for,
    disk_changes,
    disk_slots_for,
    disk_value,
    hostpci_value,
    nic_value,
    ownership,
    parse_tags,
    power_change,
    sshkeys_value,
)
from reconciler.providers.proxmox.gpus import GpuCache
from reconciler.providers.proxmox.observe import (
    CONFIGURED_PREFIX,
    Observer,
    agent_address,
    guest_path,
    guests,
    list_resources,
)
from reconciler.providers.proxmox.tasks import NodeSlots, TaskPolicy, run_task

VMID_PREFIX = "vmid/"
MAX_VMID_ATTEMPTS = 5


@dataclass
class GuestAccess:
    """How a freshly made guest is reached by the configure step (cloud-init user and public key)."""

    ci_user: str | None = None
    ssh_public_key: str | None = None


def address_of(desired: dict[str, Any]) -> str | None:
    """The static IPv4 address (no prefix) the desired fields give the guest, if any."""
    ip = desired.get("ipconfig0") or ""
    for part in str(ip).split(","):
        if part.startswith("ip=") and part[3:] != "dhcp":
            return part[3:].split("/")[0]
    for nic in desired.get("nics") or []:
        if nic.get("ip") and nic["ip"] != "dhcp":
            return str(nic["ip"]).split("/")[0]
    return None


class Applier:
    """Carries out one Change against PVE."""

    def __init__(
        self,
        client: PveClient,
        ctx: ProviderContext,
        slots: NodeSlots,
        policy: TaskPolicy,
        observer: Observer,
        access: GuestAccess,
        gpus: GpuCache | None,
    ) -> None:
        self.client = client
        self.ctx = ctx
        self.slots = slots
        self.policy = policy
        self.observer = observer
        self.access = access
        self.gpus = gpus

    # ------------------------------------------------------------------ entry

    def apply(self, change: Change, resource: EffectiveResource | None) -> ApplyResult:
        """Dispatch on the change's op."""
        if change.op is Op.noop:
            return ApplyResult(provider_id=change.provider_id, node=change.node, message=change.reason)
        if change.op is Op.create:
            return self.create(change, resource)
        if change.op is Op.update:
            return self.update(change)
        if change.op is Op.delete:
            return self.delete(change.resource, change.provider_id)
        if change.op is Op.replace:
            self.delete(change.resource, change.provider_id)
            return self.create(change, resource)
        if change.op is Op.rename:
            return self.rename(change)
        raise PermanentProviderError(f"proxmox: unsupported change op {change.op.value}")

    # ------------------------------------------------------------------ lookup

    def _owned_guest(self, name: str, items: list[dict[str, Any]]) -> dict[str, Any] | None:
        for item in guests(items):
            owned, lab = ownership(_tags(item))
            if owned and lab == self.ctx.lab and item.get("name") == name and not item.get("template"):
                return item
        return None

    def _fresh_guest(self, name: str, vmid: str | None = None) -> dict[str, Any] | None:
        items = list_resources(self.client, "vm")
        if vmid:
            for item in guests(items):
                if str(item.get("vmid")) == str(vmid):
                    owned, lab = ownership(_tags(item))
                    if not (owned and lab == self.ctx.lab) and not self._half_made(name, item):
                        raise PermanentProviderError(
                            f"proxmox: guest {vmid} is not managed by lab {self.ctx.lab} (no homeport tags); "
                            "homeport never touches it"
                        )
                    return item
        return self._owned_guest(name, items)

    def _half_made(self, name: str, item: dict[str, Any]) -> bool:
        """A guest homeport made under its reserved VMID but has not tagged yet (a crash or a clone)."""
        reserved = self.ctx.state.get(VMID_PREFIX + name)
        return (
            reserved is not None
            and str(reserved) == str(item.get("vmid"))
            and item.get("name") == name
            and not item.get("template")
        )

    # ------------------------------------------------------------------ create

    def create(self, change: Change, resource: EffectiveResource | None) -> ApplyResult:
        """Create the guest unless it already exists (then converge it), recording its VMID first."""
        name = change.resource
        desired = change.desired
        items = list_resources(self.client, "vm")
        existing = self._owned_guest(name, items) or next((i for i in guests(items) if self._half_made(name, i)), None)
        if existing is not None:
            result = self.converge(existing, desired, name)
            result.message = f"{existing['type']} {existing['vmid']} already existed; " + result.message
            return result
        # Another lab's guest may share the name (its tags tell them apart); an unmanaged one is to be adopted.
        clash = [
            i for i in guests(items) if i.get("name") == name and not i.get("template") and not ownership(_tags(i))[0]
        ]
        if clash:
            raise PermanentProviderError(
                f"proxmox: a guest named {name} already exists "
                f"(vmid {clash[0]['vmid']} on {clash[0]['node']}) "
                f"but is not managed by lab {self.ctx.lab}; rename it, or adopt it with a proposal"
            )
        node = change.node or (resource.node if resource else None)
        if not node:
            raise PermanentProviderError(f"proxmox: {name} has no node; pin placement.node or let placement choose")
        px = dict(resource.overrides) if resource else {}
        props = dict(resource.properties) if resource else {}
        source = clone_source(resource) if resource else None
        kind = desired.get("kind", "qemu")
        if source and kind == "lxc" and not _templates(items, source, kind):
            source = None  # a pool-wide VM template does not apply to containers: create from the OS template
        if desired.get("gpu_count") and not desired.get("gpu"):
            # Choose the GPU before anything is created, so a node without one leaves no half guest.
            desired = {**desired, "gpu": self._free_gpu(node, name)}
        for _attempt in range(MAX_VMID_ATTEMPTS):
            vmid = self._reserve_vmid(name, items)
            try:
                if source:
                    self._clone(str(source), items, vmid, node, name, desired)
                else:
                    dns = list(resource.network.dns) if resource else []
                    self._create_blank(vmid, node, name, desired, px, props, dns)
                break
            except PermanentProviderError as exc:
                if "already exists" not in str(exc):
                    raise
                # Someone took the id between nextid and create: forget it and ask again.
                self.ctx.state.delete(VMID_PREFIX + name)
                items = list_resources(self.client, "vm")
        else:
            raise TransientProviderError(f"proxmox: no free VMID for {name} after {MAX_VMID_ATTEMPTS} attempts")
        item = self._fresh_guest(name, str(vmid))
        if item is None:
            raise TransientProviderError(f"proxmox: {name} (vmid {vmid}) is not listed yet after create")
        result = self.converge(item, desired, name)
        result.message = f"created {item['type']} {vmid} on {node}; " + result.message
        return result

    def _reserve_vmid(self, name: str, items: list[dict[str, Any]]) -> int:
        """The VMID for name: the recorded one if still free, else a new one, recorded BEFORE create."""
        key = VMID_PREFIX + name
        recorded = self.ctx.state.get(key)
        taken = {int(i["vmid"]) for i in guests(items)}
        if recorded is not None and int(recorded) not in taken:
            return int(recorded)
        vmid = int(self.client.get("cluster/nextid"))
        self.ctx.state.put(key, vmid)
        return vmid

    def _cloud_init(self, desired: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if self.access.ci_user:
            params["ciuser"] = self.access.ci_user
        if self.access.ssh_public_key:
            params["sshkeys"] = sshkeys_value(self.access.ssh_public_key)
        if desired.get("ipconfig0"):
            params["ipconfig0"] = desired["ipconfig0"]
        return params

    def _create_blank(
        self,
        vmid: int,
        node: str,
        name: str,
        desired: dict[str, Any],
        px: dict[str, Any],
        props: dict[str, Any],
        dns: list[str],
    ) -> None:
        kind = desired.get("kind", "qemu")
        disks = desired.get("disks") or []
        slots = disk_slots_for(kind, disks, {})
        params: dict[str, Any] = {
            "vmid": vmid,
            "cores": desired.get("cores", 1),
            "memory": desired.get("memory_mb", 1024),
            "tags": ";".join(sorted(desired.get("tags") or [])),
            "onboot": 1 if desired.get("onboot") else 0,
            "description": description_for(self.ctx.lab, name, slots),
        }
        for disk in disks:
            params[slots[disk["name"]]] = disk_value(kind, slots[disk["name"]], disk)
        for nic in desired.get("nics") or []:
            params[nic["name"]] = nic_value(kind, nic)
        if dns:
            params["nameserver"] = " ".join(dns)  # cloud-init (VMs) or the container's resolv.conf
        if kind == "lxc":
            template = px.get("ostemplate") or props.get("ostemplate")
            if not template:
                raise PermanentProviderError(
                    f"proxmox: container {name} needs an OS template; set overrides.proxmox.ostemplate "
                    "(e.g. local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst)"
                )
            params.update(hostname=name, ostemplate=str(template), unprivileged=1)
            if self.access.ssh_public_key:
                params["ssh-public-keys"] = self.access.ssh_public_key.strip() + "\n"
        else:
            root_storage = disks[0]["storage"] if disks else "local-lvm"
            params.update(
                name=name,
                scsihw="virtio-scsi-single",
                ostype=str(px.get("ostype", "l26")),
                agent="1",
                ide2=f"{root_storage}:cloudinit",
                **self._cloud_init(desired),
            )
            if desired.get("cpu_type"):
                params["cpu"] = desired["cpu_type"]
            if desired.get("gpu"):
                params["hostpci0"] = hostpci_value(str(desired["gpu"]))
        self._task(node, lambda: self.client.post(f"nodes/{node}/{kind}", **params), f"create {kind} {vmid} ({name})")

    def _clone(
        self,
        source: str,
        items: list[dict[str, Any]],
        vmid: int,
        node: str,
        name: str,
        desired: dict[str, Any],
    ) -> None:
        templates = _templates(items, source, str(desired.get("kind", "qemu")))
        if not templates:
            raise PermanentProviderError(
                f"proxmox: clone source {source!r} for {name} is not a template on this cluster; "
                "create it (qm template) or fix overrides.proxmox.clone"
            )
        src = templates[0]
        params: dict[str, Any] = {"newid": vmid, "name": name, "full": 1}
        if src["node"] != node:
            params["target"] = node
        disks = desired.get("disks") or []
        if disks:
            params["storage"] = disks[0]["storage"]
        kind = str(src["type"])
        if kind == "lxc":
            params["hostname"] = params.pop("name")
        self._task(
            src["node"],
            lambda: self.client.post(guest_path(src) + "/clone", **params),
            f"clone {source} to {vmid} ({name})",
        )

    # ------------------------------------------------------------------ converge

    def update(self, change: Change) -> ApplyResult:
        """Converge an existing owned guest on the desired fields."""
        item = self._fresh_guest(change.resource, change.provider_id)
        if item is None:
            raise PermanentProviderError(f"proxmox: {change.resource} no longer exists; the next plan creates it")
        moved = [f for f in change.fields if f.path == "node"]
        if moved and moved[0].new and moved[0].new != item.get("node"):
            raise PermanentProviderError(
                f"proxmox: {change.resource} runs on {item.get('node')} but is placed on {moved[0].new}; homeport "
                f"does not migrate guests: migrate it (qm migrate {item['vmid']} {moved[0].new}) or pin it back"
            )
        return self.converge(item, change.desired, change.resource)

    def converge(self, item: dict[str, Any], desired: dict[str, Any], name: str) -> ApplyResult:
        """Make the guest match desired: config, new disks, growth, pending changes, power state."""
        if item.get("lock"):
            raise TransientProviderError(
                f"proxmox: {name} (vmid {item['vmid']}) is locked ({item['lock']}); retrying later",
                LOCK_DELAY,
            )
        kind, node, vmid = str(item["type"]), str(item["node"]), str(item["vmid"])
        path = guest_path(item)
        config = self.client.get(path + "/config") or {}
        status = "running" if item.get("status") == "running" else "stopped"
        current = fields_from_config(kind, config, status)
        done: list[str] = []

        params = config_params(kind, desired, current, config)
        slots = self._slots(kind, config, desired)
        description = description_for(self.ctx.lab, name, slots)
        if config.get("description", "").strip() != description.strip():
            params["description"] = description
        new_disks, resizes = disk_changes(kind, name, desired.get("disks") or [], current["disks"], config, slots)
        params.update(new_disks)
        if kind == "qemu":
            params.update(self._qemu_extras(desired, config, current, node, name))
        if params:
            self._task(node, lambda: self._config_call(kind, path, params), f"config of {name}")
            done.append("set " + ", ".join(sorted(params)))
        for slot, want in resizes:
            self._task(node, self._resize_call(path, slot, want), f"resize {slot} of {name}")
            done.append(f"grew {slot} to {want}G")
        if status == "running" and (params or resizes) and self._has_pending(path):
            self._task(node, lambda: self.client.post(path + "/status/reboot"), f"reboot of {name} for pending changes")
            done.append("rebooted to apply pending changes")
        want_status = desired.get("status")
        power = power_change(status, want_status)
        if power is not None:
            action, params_, did = power
            self._task(node, lambda: self.client.post(f"{path}/status/{action}", **params_), f"{action} of {name}")
            done.append(did)
        self.observer.forget(vmid)
        outputs: dict[str, Any] = {"vmid": int(vmid), "kind": kind}
        address = address_of(desired)
        final_status = "running" if want_status == "running" or (status == "running" and want_status is None) else ""
        if not address and kind == "qemu" and final_status == "running":
            address = agent_address(self.client, item)
        if address:
            outputs["address"] = address
        return ApplyResult(
            provider_id=vmid,
            node=node,
            outputs=outputs,
            message="; ".join(done) if done else f"{kind} {vmid} already matches",
        )

    def _task(self, node: str, call: Callable[[], object], what: str) -> None:
        """Run one PVE call that may start a task, on the node's task slots, and wait for it."""
        run_task(self.client, self.slots, node, call, policy=self.policy, sleep=self.ctx.sleep, what=what)

    def _config_call(self, kind: str, path: str, params: dict[str, Any]) -> object:
        # QEMU has an asynchronous POST (a qmconfig task); containers only the synchronous PUT.
        if kind == "lxc":
            return self.client.put(path + "/config", **params)
        return self.client.post(path + "/config", **params)

    def _resize_call(self, path: str, slot: str, want: float) -> Callable[[], object]:
        return lambda: self.client.put(path + "/resize", disk=slot, size=f"{want}G")

    def _slots(self, kind: str, config: dict[str, Any], desired: dict[str, Any]) -> dict[str, str]:
        taken = {name: slot for slot, name in parse_disk_marker(config.get("description")).items() if slot in config}
        root = LXC_ROOT if kind == "lxc" else "scsi0"
        if "root" not in taken and root in config:
            taken["root"] = root
        return disk_slots_for(kind, desired.get("disks") or [], taken)

    def _qemu_extras(
        self, desired: dict[str, Any], config: dict[str, Any], current: dict[str, Any], node: str, name: str
    ) -> dict[str, Any]:
        params: dict[str, Any] = {}
        wants_ci = bool(desired.get("ipconfig0") or self.access.ssh_public_key)
        has_ci = any(is_cloudinit(k, v) for k, v in config.items())
        if wants_ci and not has_ci:
            storage = (desired.get("disks") or [{"storage": "local-lvm"}])[0]["storage"]
            params["ide2"] = f"{storage}:cloudinit"
        if wants_ci:
            for key, value in self._cloud_init(desired).items():
                if str(config.get(key, "")) != str(value):
                    params[key] = value
        gpu_count = int(desired.get("gpu_count") or 0)
        pinned = desired.get("gpu")
        if pinned and current.get("gpu") != pinned:
            params["hostpci0"] = hostpci_value(str(pinned))
        elif gpu_count and not pinned and int(current.get("gpu_count") or 0) < gpu_count:
            params["hostpci0"] = hostpci_value(self._free_gpu(node, name))
        return params

    def _free_gpu(self, node: str, name: str) -> str:
        inventory = self.observer.observe(self.ctx.clock())
        for facts in inventory.nodes:
            if facts.name != node:
                continue
            free = [g for g in facts.gpus if g.in_use_by is None]
            mapped = [g for g in free if g.mapping]
            if mapped:
                return str(mapped[0].mapping)
            if free:
                return free[0].id
        raise PermanentProviderError(
            f"proxmox: {name} asks for a GPU but node {node} has no free one; pin another node or free a GPU"
        )

    def _has_pending(self, path: str) -> bool:
        pending = self.client.get(path + "/pending") or []
        return any("pending" in entry or entry.get("delete") for entry in pending)

    # ------------------------------------------------------------------ delete, rename

    def delete(self, name: str, vmid: str | None) -> ApplyResult:
        """Stop and purge an owned guest; already gone is success."""
        item = self._fresh_guest(name, vmid)
        if item is None:
            self.ctx.state.delete(VMID_PREFIX + name)
            return ApplyResult(provider_id=vmid, message=f"{name} is already gone")
        path = guest_path(item)
        node = str(item["node"])
        if item.get("lock"):
            raise TransientProviderError(f"proxmox: {name} is locked ({item['lock']}); retrying later", LOCK_DELAY)
        if item.get("status") == "running":
            self._task(node, lambda: self.client.post(path + "/status/stop"), f"stop of {name}")
        params: dict[str, Any] = {"purge": 1}
        if item["type"] == "qemu":
            params["destroy-unreferenced-disks"] = 1
        self._task(node, lambda: self.client.delete(path, **params), f"delete of {name}")
        self.ctx.state.delete(VMID_PREFIX + name)
        self.ctx.state.delete(CONFIGURED_PREFIX + name)
        self.observer.forget(str(item["vmid"]))
        return ApplyResult(
            provider_id=str(item["vmid"]),
            node=node,
            message=f"deleted {item['type']} {item['vmid']} from {node}",
        )

    def rename(self, change: Change) -> ApplyResult:
        """Rename an owned guest in place (name and description), then converge it."""
        old = change.previous_name or ""
        item = self._fresh_guest(old, change.provider_id)
        if item is None:
            raise PermanentProviderError(f"proxmox: {old} (to be renamed {change.resource}) does not exist")
        key = "hostname" if item["type"] == "lxc" else "name"
        path = guest_path(item)
        self._task(
            str(item["node"]), lambda: self.client.put(path + "/config", **{key: change.resource}), f"rename of {old}"
        )
        for prefix in (VMID_PREFIX, CONFIGURED_PREFIX):
            recorded = self.ctx.state.get(prefix + old)
            if recorded is not None:
                self.ctx.state.put(prefix + change.resource, recorded)
                self.ctx.state.delete(prefix + old)
        item = dict(item, name=change.resource)
        result = (
            self.converge(item, change.desired, change.resource)
            if change.desired
            else ApplyResult(provider_id=str(item["vmid"]), node=str(item["node"]))
        )
        result.message = f"renamed {old} to {change.resource}; " + result.message
        return result


def _templates(items: list[dict[str, Any]], source: str, kind: str) -> list[dict[str, Any]]:
    """Templates of this kind named source (by name or VMID)."""
    return [
        i
        for i in guests(items)
        if i.get("template") and i.get("type") == kind and (i.get("name") == source or str(i.get("vmid")) == source)
    ]


def _tags(item: dict[str, Any]) -> list[str]:
    return parse_tags(item.get("tags"))
