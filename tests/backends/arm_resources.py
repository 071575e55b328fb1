"""The ARM test server's resource semantics: PUT, PATCH, DELETE and VM actions, Azure's rules for each.

A VM needs an existing NIC; a NIC its subnet, NSG and public IP; disks cannot shrink; an OS disk grows
only while its VM is deallocated; in-use NICs, NSGs, public IPs and disks cannot be deleted.
"""

from __future__ import annotations

import copy
import uuid
from typing import TYPE_CHECKING, Any

from tests.backends.arm_models import check_body
from tests.backends.arm_types import (
    ACCEPTED_WRITES,
    LOCATION,
    Answer,
    ArmError,
    TypeSpec,
    lower_id,
    parse_id,
)

if TYPE_CHECKING:
    from tests.backends.arm import ArmServer


def check_request(spec: TypeSpec, data: Any, request: str, path: str) -> None:
    """HTTP 400 InvalidRequestContent when the body does not fit the SDK model (PUT: create, PATCH: update)."""
    model = spec.model if request == "create" else (spec.update_model or spec.model)
    errors = check_body(model, data, request=request)
    if errors:
        raise ArmError(400, "InvalidRequestContent", f"{path}: " + "; ".join(errors))


def namespace_of(spec: TypeSpec) -> str:
    """The resource provider namespace of a type ('Microsoft.Compute')."""
    return spec.arm_type.split("/", 1)[0]


def put_resource(arm: ArmServer, path: str, spec: TypeSpec, data: Any) -> Answer:
    """PUT: create or update a resource from a checked body; 201/200, or 202 for managed disks."""
    check_request(spec, data, "create", path)
    created = store_resource(arm, path, spec, copy.deepcopy(data))
    stored = arm.state.resources[lower_id(path)]
    op = arm.start_operation("PUT", path, "put")
    stored["properties"]["provisioningState"] = "Creating" if created else "Updating"
    # A failed create leaves the resource behind in the Failed state, as Azure does.
    op.on_success = lambda: stored["properties"].__setitem__("provisioningState", "Succeeded")
    op.on_failure = lambda: stored["properties"].__setitem__("provisioningState", "Failed")
    if spec.arm_type in ACCEPTED_WRITES:
        # Managed disks answer 202 Accepted with Location, as azure-mgmt-compute expects ([200, 202]).
        return 202, arm.operation_headers(op, namespace_of(spec), location=True), None
    return (201 if created else 200), arm.operation_headers(op, namespace_of(spec)), arm.render(stored)


def store_resource(arm: ArmServer, path: str, spec: TypeSpec, data: dict[str, Any]) -> bool:
    """Create or update a resource from a checked PUT body; True when it was created."""
    sub, group, _rtype, name = parse_id(path)
    key = lower_id(path)
    existing = arm.state.resources.get(key)
    if lower_id(f"/subscriptions/{sub}/resourceGroups/{group}") not in arm.state.groups:
        raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{group}' could not be found.")
    rid = f"/subscriptions/{sub}/resourceGroups/{group}/providers/{spec.arm_type.split('/')[0]}/" + "/".join(
        f"{t}/{n}" for t, n in zip(spec.arm_type.split("/")[1:], name.split("/"), strict=True))
    body: dict[str, Any] = {"id": rid, "name": name.split("/")[-1], "type": spec.arm_type,
                            "location": data.get("location", LOCATION), "tags": data.get("tags") or {},
                            "properties": data.get("properties") or {}}
    if "sku" in data:
        body["sku"] = data["sku"]
    if spec.arm_type == "Microsoft.Compute/virtualMachines":
        _store_vm(arm, body, existing)
    elif spec.arm_type == "Microsoft.Compute/disks":
        if existing is not None:
            old = existing["properties"].get("diskSizeGB") or 0
            new = body["properties"].get("diskSizeGB") or old
            if new < old:
                raise ArmError(400, "BadRequest", f"Disk size cannot be decreased from {old} GB to {new} GB.")
            body["properties"] = {**existing["properties"], **body["properties"]}
    elif spec.arm_type == "Microsoft.Network/networkInterfaces":
        _check_nic_refs(arm, body)
        if existing is not None and existing["properties"].get("virtualMachine"):
            body["properties"]["virtualMachine"] = existing["properties"]["virtualMachine"]
    elif spec.arm_type == "Microsoft.Network/publicIPAddresses":
        old = (existing or {}).get("properties", {})
        body["properties"].setdefault("ipAddress", old.get("ipAddress") or f"20.0.{len(arm.state.resources) % 250}.7")
    elif spec.arm_type == "Microsoft.Compute/virtualMachines/extensions":
        vm = lower_id(rid.rsplit("/extensions/", 1)[0])
        if vm not in arm.state.resources:
            raise ArmError(404, "ParentResourceNotFound", f"Parent VM of extension {name} was not found.")
    arm.state.resources[key] = body
    return existing is None


def _check_nic_refs(arm: ArmServer, nic: dict[str, Any]) -> None:
    props = nic["properties"]
    nsg = (props.get("networkSecurityGroup") or {}).get("id")
    if nsg and lower_id(nsg) not in arm.state.resources:
        raise ArmError(400, "InvalidResourceReference", f"Resource {nsg} referenced by {nic['id']} was not found.")
    configs = props.get("ipConfigurations") or []
    if not configs:
        raise ArmError(400, "NetworkInterfaceMustHaveAtLeastOneIpConfiguration", f"{nic['id']} has no ipConfigurations")
    for config in configs:
        cprops = config.get("properties") or {}
        subnet = (cprops.get("subnet") or {}).get("id", "")
        vnet = subnet.rsplit("/subnets/", 1)[0]
        stored = arm.state.resources.get(lower_id(vnet))
        names = {s["name"].lower() for s in (stored or {}).get("properties", {}).get("subnets", [])}
        if stored is None or subnet.rsplit("/", 1)[-1].lower() not in names:
            raise ArmError(400, "InvalidResourceReference", f"Subnet {subnet} referenced by {nic['id']} was not found.")
        pip = (cprops.get("publicIPAddress") or {}).get("id")
        if pip and lower_id(pip) not in arm.state.resources:
            raise ArmError(400, "InvalidResourceReference", f"Public IP {pip} referenced by {nic['id']} was not found.")
        cprops.setdefault("privateIPAddress", f"10.20.0.{4 + len(arm.state.resources) % 250}")


def _store_vm(arm: ArmServer, body: dict[str, Any], existing: dict[str, Any] | None) -> None:
    props = body["properties"]
    key = lower_id(body["id"])
    power = arm.state.extra.get(key, {}).get("power", "running")
    if existing is not None:
        old = existing["properties"]
        _check_immutable(old, props)
        old_size = old.get("hardwareProfile", {}).get("vmSize")
        new_size = props.get("hardwareProfile", {}).get("vmSize")
        if new_size and old_size != new_size and power == "running":
            raise ArmError(409, "OperationNotAllowed", f"Resizing a running VM to {new_size} is not allowed on its "
                           "current hardware cluster; deallocate the VM first.")
    storage = props.setdefault("storageProfile", {})
    os_disk = storage.setdefault("osDisk", {})
    if existing is not None:
        old_os = existing["properties"]["storageProfile"]["osDisk"]
        os_disk["managedDisk"] = {**(os_disk.get("managedDisk") or {}), "id": old_os["managedDisk"]["id"]}
        os_disk.setdefault("name", old_os.get("name"))
    else:
        name = os_disk.get("name") or f"{body['name']}_OsDisk_1_{uuid.uuid4().hex[:12]}"
        disk_id = _disk(arm, body, name, int(os_disk.get("diskSizeGB") or 30),
                        (os_disk.get("managedDisk") or {}).get("storageAccountType", "Premium_LRS"))
        os_disk["name"] = name
        os_disk["managedDisk"] = {**(os_disk.get("managedDisk") or {}), "id": disk_id}
        os_disk.setdefault("osType", "Linux")
    attached = set()
    for disk in storage.get("dataDisks") or []:
        option = disk.get("createOption")
        managed = disk.setdefault("managedDisk", {})
        if option == "Empty" and not managed.get("id"):
            if not disk.get("diskSizeGB"):
                raise ArmError(400, "InvalidParameter", "Required parameter 'dataDisk.diskSizeGB' is missing (null).")
            name = disk.get("name") or f"{body['name']}_disk{disk['lun']}_{uuid.uuid4().hex[:12]}"
            found = arm.state.resources.get(lower_id(_disk_id(body, name)))
            if found is not None and existing is None:
                raise ArmError(409, "ConflictingUserInput", f"A disk with name {name} already exists.")
            managed["id"] = found["id"] if found else _disk(arm, body, name, int(disk["diskSizeGB"]),
                                                           managed.get("storageAccountType", "Premium_LRS"))
            disk["name"] = name
        elif option == "Attach" or managed.get("id"):
            ref = managed.get("id")
            found = arm.state.resources.get(lower_id(ref)) if ref else None
            if found is None:
                raise ArmError(404, "NotFound", f"Disk {ref} was not found.")
            owner = found["properties"].get("managedBy")
            if owner and lower_id(owner) != key:
                raise ArmError(409, "OperationNotAllowed", f"Disk {found['name']} is attached to VM {owner}.")
            disk["name"] = found["name"]
        attached.add(lower_id(managed["id"]))
    attached.add(lower_id(os_disk["managedDisk"]["id"]))
    for rid, res in arm.state.resources.items():
        if res["type"] == "Microsoft.Compute/disks":
            if rid in attached:
                res["properties"]["managedBy"] = body["id"]
                res["properties"]["diskState"] = "Attached"
            elif lower_id(res["properties"].get("managedBy") or "") == key:
                res["properties"].pop("managedBy", None)
                res["properties"]["diskState"] = "Unattached"
    nics = [lower_id(n["id"]) for n in (props.get("networkProfile") or {}).get("networkInterfaces") or []]
    if not nics:
        raise ArmError(400, "InvalidParameter", "At least one network interface is required.")
    for nic_id in nics:
        nic = arm.state.resources.get(nic_id)
        if nic is None:
            raise ArmError(404, "NotFound", f"Network interface {nic_id} was not found.")
        owner = (nic["properties"].get("virtualMachine") or {}).get("id")
        if owner and lower_id(owner) != key:
            raise ArmError(400, "NicInUse", f"Network interface {nic_id} is used by VM {owner}.")
        nic["properties"]["virtualMachine"] = {"id": body["id"]}
    arm.state.extra.setdefault(key, {"power": "running", "vmId": str(uuid.uuid4())})


def _check_immutable(old: dict[str, Any], new: dict[str, Any]) -> None:
    before = (old.get("storageProfile") or {}).get("imageReference")
    after = (new.get("storageProfile") or {}).get("imageReference")
    if after is not None and before != after:
        raise ArmError(409, "PropertyChangeNotAllowed", "Changing property 'imageReference' is not allowed.")
    user = (old.get("osProfile") or {}).get("adminUsername")
    new_user = (new.get("osProfile") or {}).get("adminUsername")
    if new_user is not None and user != new_user:
        raise ArmError(409, "PropertyChangeNotAllowed", "Changing property 'osProfile.adminUsername' is not allowed.")


def _disk_id(vm: dict[str, Any], name: str) -> str:
    return str(vm["id"]).rsplit("/providers/", 1)[0] + f"/providers/Microsoft.Compute/disks/{name}"


def _disk(arm: ArmServer, vm: dict[str, Any], name: str, size: int, sku: str) -> str:
    rid = _disk_id(vm, name)
    arm.state.resources[lower_id(rid)] = {
        "id": rid, "name": name, "type": "Microsoft.Compute/disks", "location": vm["location"], "tags": {},
        "sku": {"name": sku}, "properties": {"diskSizeGB": size, "provisioningState": "Succeeded",
                                            "creationData": {"createOption": "Empty"}, "diskState": "Attached"}}
    return rid


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def patch_resource(arm: ArmServer, path: str, spec: TypeSpec, data: Any) -> Answer:
    """PATCH: merge a checked update body into a resource (a VM resize only while deallocated)."""
    check_request(spec, data, "update", path)
    key = lower_id(path)
    stored = arm.state.resources.get(key)
    if stored is None:
        raise ArmError(404, "ResourceNotFound", f"The Resource '{path}' was not found.")
    merged = copy.deepcopy(stored)
    if "tags" in data:
        merged["tags"] = data["tags"] or {}
    _merge(merged.setdefault("properties", {}), data.get("properties") or {})
    if "sku" in data:
        merged["sku"] = data["sku"]
    if spec.arm_type == "Microsoft.Compute/disks":
        old = stored["properties"].get("diskSizeGB") or 0
        new = merged["properties"].get("diskSizeGB") or old
        if new < old:
            raise ArmError(400, "BadRequest", f"Disk size cannot be decreased from {old} GB to {new} GB.")
        owner = stored["properties"].get("managedBy")
        if new != old and owner:
            vm = arm.state.resources.get(lower_id(owner))
            os_disk = vm["properties"]["storageProfile"]["osDisk"] if vm is not None else {}
            is_os = lower_id((os_disk.get("managedDisk") or {}).get("id", "")) == key
            if is_os and arm.state.extra.get(lower_id(owner), {}).get("power") == "running":
                raise ArmError(409, "OperationNotAllowed", "An OS disk can be resized only while its VM is "
                                                           "deallocated.")
        arm.state.resources[key] = merged
    elif spec.arm_type == "Microsoft.Compute/virtualMachines":
        merged_props = merged["properties"]
        data_disks = ((data.get("properties") or {}).get("storageProfile") or {}).get("dataDisks")
        if data_disks is not None:
            merged_props["storageProfile"]["dataDisks"] = copy.deepcopy(data_disks)
        body = {**merged, "properties": merged_props}
        _store_vm(arm, body, stored)
        arm.state.resources[key] = body
    else:
        arm.state.resources[key] = merged
    current = arm.state.resources[key]
    op = arm.start_operation("PATCH", path, "patch")
    if spec.arm_type in ACCEPTED_WRITES:
        return 202, arm.operation_headers(op, namespace_of(spec), location=True), None
    return 200, arm.operation_headers(op, namespace_of(spec)), arm.render(current)


def delete_resource(arm: ArmServer, path: str, spec: TypeSpec) -> Answer:
    """DELETE: 202 and an operation, 204 when absent, refused while the resource is in use."""
    key = lower_id(path)
    stored = arm.state.resources.get(key)
    if stored is None:
        return 204, {}, None
    users = _users(arm, stored)
    if users:
        codes = {"Microsoft.Network/networkInterfaces": (400, "NicInUse"),
                 "Microsoft.Network/networkSecurityGroups": (400, "InUseNetworkSecurityGroupCannotBeDeleted"),
                 "Microsoft.Network/publicIPAddresses": (400, "PublicIPAddressCannotBeDeleted"),
                 "Microsoft.Compute/disks": (409, "OperationNotAllowed")}
        status, code = codes.get(stored["type"], (409, "Conflict"))
        raise ArmError(status, code, f"{stored['type']} {stored['name']} is in use by {', '.join(users)}.")

    def remove() -> None:
        arm.state.resources.pop(key, None)
        arm.state.extra.pop(key, None)
        if stored["type"] == "Microsoft.Compute/virtualMachines":
            for res in arm.state.resources.values():
                props = res.get("properties") or {}
                if lower_id(props.get("managedBy") or "") == key:
                    props.pop("managedBy", None)
                    props["diskState"] = "Unattached"
                if lower_id((props.get("virtualMachine") or {}).get("id", "")) == key:
                    props.pop("virtualMachine", None)
            for child in [k for k in arm.state.resources if k.startswith(key + "/extensions/")]:
                arm.state.resources.pop(child)

    stored["properties"]["provisioningState"] = "Deleting"
    op = arm.start_operation("DELETE", path, "delete", on_success=remove)
    return 202, arm.operation_headers(op, namespace_of(spec), location=True), None


def _users(arm: ArmServer, stored: dict[str, Any]) -> list[str]:
    rid = lower_id(stored["id"])
    users = []
    for res in arm.state.resources.values():
        props = res.get("properties") or {}
        if stored["type"] == "Microsoft.Network/networkInterfaces" and lower_id(
                (props.get("virtualMachine") or {}).get("id", "")) and res is stored:
            users.append(props["virtualMachine"]["id"])
        if res["type"] == "Microsoft.Network/networkInterfaces" and res is not stored:
            if lower_id((props.get("networkSecurityGroup") or {}).get("id", "")) == rid:
                users.append(res["id"])
            for config in props.get("ipConfigurations") or []:
                if lower_id(((config.get("properties") or {}).get("publicIPAddress") or {}).get("id", "")) == rid:
                    users.append(res["id"])
    if stored["type"] == "Microsoft.Compute/disks" and stored["properties"].get("managedBy"):
        users.append(stored["properties"]["managedBy"])
    return users


def vm_action(arm: ArmServer, method: str, path: str, vm_path: str, action: str) -> Answer:
    """POST deallocate/start/powerOff/restart (202 and an operation), GET instanceView."""
    stored = arm.state.resources.get(lower_id(vm_path))
    if stored is None:
        raise ArmError(404, "ResourceNotFound", f"The Resource '{vm_path}' was not found.")
    extra = arm.state.extra.setdefault(lower_id(vm_path), {"power": "running", "vmId": str(uuid.uuid4())})
    if action == "instanceview":
        if method != "GET":
            raise ArmError(405, "MethodNotAllowed", "instanceView is GET only")
        return 200, {}, arm.instance_view(stored)
    if method != "POST":
        raise ArmError(405, "MethodNotAllowed", f"{action} is POST only")
    target = {"deallocate": "deallocated", "start": "running", "poweroff": "stopped", "restart": "running"}[action]
    extra["power"] = {"deallocate": "deallocating", "start": "starting", "poweroff": "stopping",
                      "restart": "starting"}[action]

    def finish() -> None:
        extra["power"] = target

    op = arm.start_operation("POST", path, action, on_success=finish)
    return 202, arm.operation_headers(op, "Microsoft.Compute", location=True), None

