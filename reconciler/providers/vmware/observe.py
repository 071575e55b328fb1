# mypy: disable-error-code="no-untyped-call"
"""Read-only: one property-collector retrieval over a container view gives the whole inventory.

A no-op cycle costs one RetrievePropertiesEx (plus one ContinueRetrievePropertiesEx per
`page_size` objects): the container view is created once per session and reused. VM device
lists, the bulk of the payload, are kept per session and read again (in one more retrieval for
all of them) only for VMs whose configuration changed (`config.changeVersion`/`config.modified`),
and for every VM each `full_refresh_every` cycles.
"""

from __future__ import annotations

from typing import Any

from pyVmomi import vim, vmodl

from reconciler.providers.vmware.connection import Connection
from reconciler.providers.vmware.errors import vsphere_errors
from reconciler.providers.vmware.facts import (
    ComputeFacts,
    ControllerFacts,
    DatacenterFacts,
    DatastoreFacts,
    DiskFacts,
    HostFacts,
    NetworkFacts,
    NicFacts,
    Snapshot,
    VmFacts,
)

PROPERTIES: dict[type, list[str]] = {
    vim.HostSystem: [
        "name",
        "parent",
        "summary.hardware.numCpuCores",
        "summary.hardware.cpuMhz",
        "summary.hardware.memorySize",
        "summary.quickStats.overallCpuUsage",
        "summary.quickStats.overallMemoryUsage",
        "runtime.connectionState",
        "runtime.inMaintenanceMode",
        "datastore",
        "network",
    ],
    vim.Datastore: ["name", "summary.capacity", "summary.freeSpace", "summary.accessible"],
    vim.Network: ["name"],
    vim.ComputeResource: ["name", "resourcePool"],
    vim.Datacenter: ["name", "vmFolder"],
    vim.VirtualMachine: [
        "name",
        "config.template",
        "config.hardware.numCPU",
        "config.hardware.memoryMB",
        "config.changeVersion",
        "config.modified",
        "config.annotation",
        "config.cpuHotAddEnabled",
        "config.memoryHotAddEnabled",
        "runtime.powerState",
        "runtime.connectionState",
        "runtime.host",
        "customValue",
    ],
}

DEVICE_PATHS = ["config.hardware.device", "config.changeVersion", "config.modified"]
POWER_STATES = {"poweredOn": "on", "poweredOff": "off", "suspended": "suspended"}
BUS_KINDS: tuple[tuple[type, str], ...] = (
    (vim.vm.device.VirtualSCSIController, "scsi"),
    (vim.vm.device.VirtualNVMEController, "nvme"),
    (vim.vm.device.VirtualSATAController, "sata"),
    (vim.vm.device.VirtualIDEController, "ide"),
)
GIB = 1024**3


def inventory_view(conn: Connection) -> vim.view.ContainerView:
    """The session's container view over every inventory type we read (created once, then reused)."""
    if conn.inventory_view is None:
        with vsphere_errors("create the vSphere inventory view"):
            conn.inventory_view = conn.content.viewManager.CreateContainerView(
                conn.content.rootFolder, list(PROPERTIES), True
            )
    view: vim.view.ContainerView = conn.inventory_view
    return view


def filter_spec(conn: Connection, view: vim.view.ContainerView) -> vmodl.query.PropertyCollector.FilterSpec:
    """The single filter: every object in the view, plus the custom field definitions (vCenter only)."""
    pc = vmodl.query.PropertyCollector
    traverse = pc.TraversalSpec(name="view", path="view", skip=False, type=vim.view.ContainerView)
    object_set = [pc.ObjectSpec(obj=view, skip=True, selectSet=[traverse])]
    prop_set = [pc.PropertySpec(type=kind, pathSet=paths, all=False) for kind, paths in PROPERTIES.items()]
    if conn.content.customFieldsManager is not None:
        object_set.append(pc.ObjectSpec(obj=conn.content.customFieldsManager, skip=False))
        prop_set.append(pc.PropertySpec(type=vim.CustomFieldsManager, pathSet=["field"], all=False))
    return pc.FilterSpec(objectSet=object_set, propSet=prop_set, reportMissingObjectsInResults=False)


def device_spec(vms: list[Any]) -> vmodl.query.PropertyCollector.FilterSpec:
    """A filter reading just the device lists (and change markers) of the given VMs."""
    pc = vmodl.query.PropertyCollector
    return pc.FilterSpec(
        objectSet=[pc.ObjectSpec(obj=vm, skip=False) for vm in vms],
        propSet=[pc.PropertySpec(type=vim.VirtualMachine, pathSet=DEVICE_PATHS, all=False)],
        reportMissingObjectsInResults=False,
    )


def change_marker(props: dict[str, Any]) -> str:
    """What tells a VM's configuration changed: its change version and modification time."""
    return f"{props.get('config.changeVersion') or ''}|{props.get('config.modified') or ''}"


def retrieve_objects(
    conn: Connection, page_size: int, spec: vmodl.query.PropertyCollector.FilterSpec | None = None
) -> list[tuple[Any, dict[str, Any]]]:
    """Every object with its requested properties, paging with ContinueRetrievePropertiesEx."""
    if spec is None:
        spec = filter_spec(conn, inventory_view(conn))
    collector = conn.content.propertyCollector
    options = vmodl.query.PropertyCollector.RetrieveOptions(maxObjects=page_size)
    objects: list[tuple[Any, dict[str, Any]]] = []
    with vsphere_errors("read the vSphere inventory"):
        result = collector.RetrievePropertiesEx([spec], options)
        while result is not None:
            for content in result.objects:
                objects.append((content.obj, {p.name: p.val for p in content.propSet}))
            if not result.token:
                break
            result = collector.ContinueRetrievePropertiesEx(result.token)
    return objects


def observe_snapshot(conn: Connection, page_size: int, full_refresh_every: int = 12) -> Snapshot:
    """Hosts, datastores, networks, compute resources, datacenters and VMs: one retrieval when
    no VM changed, two when some did (their device lists are read again, all in one call)."""
    before = conn.counter.calls
    objects = retrieve_objects(conn, page_size)
    vms = {str(obj._moId): (obj, props) for obj, props in objects if isinstance(obj, vim.VirtualMachine)}
    full = conn.observe_cycles % full_refresh_every == 0
    conn.observe_cycles += 1
    cache = conn.device_cache
    stale = [obj for moid, (obj, props) in vms.items() if full or cache.get(moid, ("",))[0] != change_marker(props)]
    if stale:
        for obj, props in retrieve_objects(conn, page_size, device_spec(stale)):
            cache[str(obj._moId)] = (change_marker(props), list(props.get("config.hardware.device") or []))
    for moid in set(cache) - set(vms):
        del cache[moid]
    snapshot = parse_objects(with_devices(objects, {moid: devices for moid, (_, devices) in cache.items()}))
    snapshot.round_trips = conn.counter.calls - before
    return snapshot


def with_devices(
    objects: list[tuple[Any, dict[str, Any]]], devices: dict[str, list[Any]]
) -> list[tuple[Any, dict[str, Any]]]:
    """The retrieved objects with each VM's device list (read separately) put back in its properties."""
    for obj, props in objects:
        if isinstance(obj, vim.VirtualMachine):
            props["config.hardware.device"] = devices.get(str(obj._moId), [])
    return objects


def _moid(obj: Any) -> str | None:
    return None if obj is None else str(obj._moId)


def parse_objects(objects: list[tuple[Any, dict[str, Any]]]) -> Snapshot:
    """Turn the raw retrieval into typed facts (no calls: every value was fetched already)."""
    snapshot = Snapshot()
    vms: list[tuple[str, dict[str, Any]]] = []
    for obj, props in objects:
        moid = str(obj._moId)
        if isinstance(obj, vim.CustomFieldsManager):
            snapshot.custom_fields = {int(f.key): str(f.name) for f in props.get("field") or []}
        elif isinstance(obj, vim.HostSystem):
            snapshot.hosts[moid] = HostFacts(
                moid=moid,
                name=str(props.get("name", moid)),
                parent_moid=_moid(props.get("parent")),
                cores=int(props.get("summary.hardware.numCpuCores") or 0),
                cpu_mhz=int(props.get("summary.hardware.cpuMhz") or 0),
                memory_bytes=int(props.get("summary.hardware.memorySize") or 0),
                cpu_usage_mhz=int(props.get("summary.quickStats.overallCpuUsage") or 0),
                memory_usage_mb=int(props.get("summary.quickStats.overallMemoryUsage") or 0),
                connection_state=str(props.get("runtime.connectionState") or "unknown"),
                maintenance=bool(props.get("runtime.inMaintenanceMode")),
                datastores=tuple(str(d._moId) for d in props.get("datastore") or []),
                networks=tuple(str(n._moId) for n in props.get("network") or []),
            )
        elif isinstance(obj, vim.Datastore):
            snapshot.datastores[moid] = DatastoreFacts(
                moid=moid,
                name=str(props.get("name", moid)),
                capacity=int(props.get("summary.capacity") or 0),
                free=int(props.get("summary.freeSpace") or 0),
                accessible=bool(props.get("summary.accessible", True)),
            )
        elif isinstance(obj, vim.Network):
            snapshot.networks[moid] = NetworkFacts(
                moid=moid,
                name=str(props.get("name", moid)),
                distributed=isinstance(obj, vim.dvs.DistributedVirtualPortgroup),
            )
        elif isinstance(obj, vim.ComputeResource):
            snapshot.computes[moid] = ComputeFacts(
                moid=moid,
                name=str(props.get("name", moid)),
                cluster=isinstance(obj, vim.ClusterComputeResource),
                resource_pool=_moid(props.get("resourcePool")),
            )
        elif isinstance(obj, vim.Datacenter):
            snapshot.datacenters[moid] = DatacenterFacts(
                moid=moid, name=str(props.get("name", moid)), vm_folder=_moid(props.get("vmFolder"))
            )
        elif isinstance(obj, vim.VirtualMachine):
            vms.append((moid, props))
    network_names = {moid: n.name for moid, n in snapshot.networks.items()}
    for moid, props in vms:
        snapshot.vms[moid] = parse_vm(moid, props, snapshot.custom_fields, network_names, snapshot.hosts)
    return snapshot


def parse_vm(
    moid: str,
    props: dict[str, Any],
    custom_fields: dict[int, str],
    network_names: dict[str, str],
    hosts: dict[str, HostFacts],
) -> VmFacts:
    """One VM's facts from its retrieved properties."""
    devices = list(props.get("config.hardware.device") or [])
    controllers = parse_controllers(devices)
    host_moid = _moid(props.get("runtime.host"))
    # The last value per key wins (vcsim appends on SetField instead of replacing), and an
    # emptied attribute is no attribute (the vSphere client clears a value by writing "").
    latest = {int(v.key): str(getattr(v, "value", "") or "") for v in props.get("customValue") or []}
    custom = {custom_fields[key]: value for key, value in latest.items() if key in custom_fields and value}
    return VmFacts(
        moid=moid,
        name=str(props.get("name", moid)),
        template=bool(props.get("config.template")),
        num_cpus=int(props.get("config.hardware.numCPU") or 0),
        memory_mb=int(props.get("config.hardware.memoryMB") or 0),
        power_state=POWER_STATES.get(str(props.get("runtime.powerState")), "unknown"),
        connection_state=str(props.get("runtime.connectionState") or "connected"),
        annotation=str(props.get("config.annotation") or ""),
        cpu_hot_add=bool(props.get("config.cpuHotAddEnabled")),
        memory_hot_add=bool(props.get("config.memoryHotAddEnabled")),
        host_moid=host_moid,
        host=hosts[host_moid].name if host_moid in hosts else None,
        custom=custom,
        disks=parse_disks(devices, controllers),
        nics=parse_nics(devices, network_names),
        controllers=list(controllers.values()),
    )


def parse_controllers(devices: list[Any]) -> dict[int, ControllerFacts]:
    """Disk controllers by device key, with the unit numbers their devices use."""
    units: dict[int, list[int]] = {}
    for device in devices:
        if device.controllerKey is not None and device.unitNumber is not None:
            units.setdefault(int(device.controllerKey), []).append(int(device.unitNumber))
    controllers: dict[int, ControllerFacts] = {}
    for device in devices:
        device_any: Any = device
        for kind, bus in BUS_KINDS:
            if isinstance(device, kind):
                key = int(device_any.key)
                controllers[key] = ControllerFacts(
                    key=key,
                    bus=bus,
                    bus_number=int(device_any.busNumber or 0),
                    units=tuple(sorted(units.get(key, []))),
                )
                break
    return controllers


def parse_disks(devices: list[Any], controllers: dict[int, ControllerFacts]) -> list[DiskFacts]:
    """Virtual disks labelled by bus position ('scsi0:1'), sorted by that position."""
    disks = []
    for device in devices:
        if not isinstance(device, vim.vm.device.VirtualDisk):
            continue
        controller = controllers.get(int(device.controllerKey)) if device.controllerKey is not None else None
        bus = f"{controller.bus}{controller.bus_number}" if controller else "disk"
        unit = int(device.unitNumber or 0)
        size_bytes = device.capacityInBytes or (int(device.capacityInKB or 0) * 1024)
        disks.append(
            DiskFacts(
                label=f"{bus}:{unit}",
                size_gb=round(int(size_bytes) / GIB, 3),
                key=int(device.key),
                controller_key=int(device.controllerKey or 0),
                unit_number=unit,
                file_name=str(getattr(device.backing, "fileName", "") or ""),
            )
        )
    return sorted(disks, key=lambda d: (d.label.split(":")[0], d.unit_number))


def parse_nics(devices: list[Any], network_names: dict[str, str]) -> list[NicFacts]:
    """Virtual NICs in device-key order, labelled nic0, nic1, ..., with their network's name."""
    cards = sorted((d for d in devices if isinstance(d, vim.vm.device.VirtualEthernetCard)), key=lambda d: int(d.key))
    nics = []
    for index, card in enumerate(cards):
        backing = card.backing
        if isinstance(backing, vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo):
            key = str(backing.port.portgroupKey)
            network = network_names.get(key, key)
        elif isinstance(backing, vim.vm.device.VirtualEthernetCard.NetworkBackingInfo):
            network = str(backing.deviceName or (network_names.get(_moid(backing.network) or "", "")))
        elif isinstance(backing, vim.vm.device.VirtualEthernetCard.OpaqueNetworkBackingInfo):
            network = str(backing.opaqueNetworkId)
        else:
            network = ""
        adapter = type(card).__name__.rsplit(".", 1)[-1].removeprefix("Virtual").lower()
        nics.append(
            NicFacts(
                label=f"nic{index}",
                network=network,
                key=int(card.key),
                adapter=adapter,
                mac=str(card.macAddress or ""),
            )
        )
    return nics
