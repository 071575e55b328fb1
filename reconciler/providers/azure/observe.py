"""Read only: Azure VMs, their NICs and security groups, as ObservedResource fields.

A no-op cycle costs a fixed number of calls per subscription, whatever the number of VMs:
one `virtual_machines.list_all` (filtered here by homeport's tags), one `list_all(statusOnly)` for
power states (skipped when no VM is homeport's), and one listing each of NICs and NSGs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from azure.core.exceptions import AzureError, ResourceNotFoundError

from reconciler.models.inventory import NodeFacts, ObservedResource
from reconciler.providers.azure.clients import AzureClients
from reconciler.providers.azure.errors import azure_call, map_error
from reconciler.providers.azure.facts import (
    NicFacts,
    VmFacts,
    id_key,
    ingress_rules,
    owner_of,
    parse_nic,
    parse_vm,
)
from reconciler.providers.azure.fields import RESERVED_TAG_PREFIXES


def as_json(item: Any) -> dict[str, Any]:
    """An SDK model as ARM's JSON (the generated models keep the REST field names)."""
    if isinstance(item, dict):
        return item
    data: dict[str, Any] = item.as_dict()
    return data


def vm_fields(vm: VmFacts, nic: NicFacts | None, nsg: dict[str, Any] | None) -> dict[str, Any]:
    """One VM in the vocabulary of fields.desired_fields()."""
    prefix = f"{vm.name}-"
    fields: dict[str, Any] = {
        "subscription_id": vm.subscription,
        "resource_group": vm.resource_group.lower(),
        "location": vm.location,
        "vm_size": vm.vm_size,
        "image": vm.image,
        "disks": [{"name": d.name.removeprefix(prefix), "size_gb": d.size_gb, "lun": d.lun} for d in vm.data_disks],
        "tags": {k: v for k, v in sorted(vm.tags.items()) if not k.lower().startswith(RESERVED_TAG_PREFIXES)},
        "power_state": vm.power_state or "unknown",
        "ingress": ingress_rules(nsg) if nsg else [],
        "public_ip": bool(nic and nic.public_ip_id),
    }
    if vm.os_disk_gb is not None:
        fields["os_disk_gb"] = vm.os_disk_gb
    if nic is not None and nic.subnet_id:
        fields["subnet_id"] = nic.subnet_id.lower()
    if nic is not None and nic.private_ip:
        fields["private_ip"] = nic.private_ip
    return fields


def observed_vm(vm: VmFacts, provider: str, lab: str, nic: NicFacts | None, nsg: dict[str, Any] | None
                ) -> ObservedResource:
    """An ObservedResource for one VM; owned only when homeport's and this lab's tags match."""
    owner = owner_of(vm.tags)
    fields = vm_fields(vm, nic, nsg)
    if owner != lab:
        fields["owner"] = f"homeport lab {owner}" if owner else "not managed by homeport (no homeport tags)"
    return ObservedResource(
        name=vm.tags.get("homeport.resource") if owner == lab else vm.name,
        provider=provider,
        kind="virtual-machine",
        id=vm.id,
        node=vm.location,
        owned=owner == lab,
        lab=owner,
        status=vm.power_state or (vm.provisioning_state or "unknown").lower(),
        fields=fields,
    )


@dataclass
class SubscriptionView:
    """What one subscription's listings returned."""

    vms: list[VmFacts] = field(default_factory=list)
    nics: dict[str, NicFacts] = field(default_factory=dict)
    nsgs: dict[str, dict[str, Any]] = field(default_factory=dict)


def read_subscription(clients: AzureClients, subscription: str, lab: str, groups: set[str],
                      power_state: bool = True) -> SubscriptionView:
    """One subscription's VMs (this lab's, other labs', and strangers in homeport's resource groups)."""
    compute = clients.compute(subscription)
    network = clients.network(subscription)
    listed = azure_call("list virtual machines", lambda: [parse_vm(as_json(v)) for v in
                                                           compute.virtual_machines.list_all()])
    wanted = [vm for vm in listed if owner_of(vm.tags) is not None or vm.resource_group.lower() in groups]
    view = SubscriptionView(vms=wanted)
    if not any(owner_of(vm.tags) == lab for vm in wanted):
        return view
    if power_state:
        statuses = azure_call("list virtual machine power states", lambda: {
            id_key(v["id"]): parse_vm(v).power_state for v in
            (as_json(x) for x in compute.virtual_machines.list_all(status_only="true"))})
        for vm in wanted:
            vm.power_state = statuses.get(id_key(vm.id), vm.power_state)
    view.nics = azure_call("list network interfaces", lambda: {
        id_key(n.id): n for n in (parse_nic(as_json(x)) for x in network.network_interfaces.list_all())})
    view.nsgs = azure_call("list network security groups", lambda: {
        id_key(str(g["id"])): g for g in (as_json(x) for x in network.network_security_groups.list_all())})
    return view


def resources_of(view: SubscriptionView, provider: str, lab: str) -> list[ObservedResource]:
    """The subscription's VMs as observed resources, each joined with its primary NIC and that NIC's NSG."""
    out = []
    for vm in view.vms:
        nic = view.nics.get(id_key(vm.nic_ids[0])) if vm.nic_ids else None
        nsg = view.nsgs.get(id_key(nic.nsg_id)) if nic and nic.nsg_id else None
        out.append(observed_vm(vm, provider, lab, nic, nsg))
    return out


def nodes_of(resources: list[ObservedResource], provider: str, subscription: str, default_location: str | None
             ) -> list[NodeFacts]:
    """One node per location (Azure region) seen or used by default."""
    locations = {r.node for r in resources if r.node} | ({default_location} if default_location else set())
    return [NodeFacts(name=loc, provider=provider, labels={"location": loc, "subscription": subscription})
            for loc in sorted(locations)]


def read_optional(action: str, getter: Any, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
    """A GET that may answer 404 (None); other failures are mapped at the edge."""
    try:
        return as_json(getter(*args, **kwargs))
    except ResourceNotFoundError:
        return None
    except AzureError as exc:
        raise map_error(exc, action) from exc


def read_vm(clients: AzureClients, subscription: str, group: str, name: str) -> dict[str, Any] | None:
    """One VM with its instance view (power state: it matters here), or None when there is none by that name."""
    compute = clients.compute(subscription)
    return read_optional(f"read VM {name}", compute.virtual_machines.get, group, name, expand="instanceView")


def read_one(clients: AzureClients, subscription: str, group: str, name: str, provider: str, lab: str
             ) -> tuple[VmFacts, ObservedResource] | None:
    """One VM, its NIC and NSG, read directly (before a create, and when an intent is verified)."""
    raw = read_vm(clients, subscription, group, name)
    if raw is None:
        return None
    vm = parse_vm(raw)
    network = clients.network(subscription)
    nic = None
    if vm.nic_ids:
        nic_ref = vm.nic_ids[0]
        nic_json = read_optional("read NIC", network.network_interfaces.get, group, nic_ref.rsplit("/", 1)[-1])
        nic = parse_nic(nic_json) if nic_json else None
    nsg = None
    if nic is not None and nic.nsg_id:
        nsg = read_optional("read NSG", network.network_security_groups.get, group, nic.nsg_id.rsplit("/", 1)[-1])
    return vm, observed_vm(vm, provider, lab, nic, nsg)

