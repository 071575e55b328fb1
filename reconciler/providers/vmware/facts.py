"""Typed facts read from vSphere: what observe.py returns and the pure code works on."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DiskFacts:
    """One virtual disk: its bus position label ('scsi0:1'), size and device key."""

    label: str
    size_gb: float
    key: int
    controller_key: int
    unit_number: int
    file_name: str = ""


@dataclass(frozen=True)
class NicFacts:
    """One virtual NIC: its homeport label ('nic0'), network name, device key and adapter type."""

    label: str
    network: str
    key: int
    adapter: str
    mac: str = ""


@dataclass(frozen=True)
class ControllerFacts:
    """A disk controller: key, bus kind ('scsi', 'sata', 'nvme', 'ide'), bus number, units in use."""

    key: int
    bus: str
    bus_number: int
    units: tuple[int, ...] = ()


@dataclass
class VmFacts:
    """One virtual machine (or template) as vSphere reports it."""

    moid: str
    name: str
    template: bool = False
    num_cpus: int = 0
    memory_mb: int = 0
    power_state: str = "unknown"
    connection_state: str = "connected"
    annotation: str = ""
    cpu_hot_add: bool = False
    memory_hot_add: bool = False
    host_moid: str | None = None
    host: str | None = None
    custom: dict[str, str] = field(default_factory=dict)
    disks: list[DiskFacts] = field(default_factory=list)
    nics: list[NicFacts] = field(default_factory=list)
    controllers: list[ControllerFacts] = field(default_factory=list)


@dataclass(frozen=True)
class HostFacts:
    """An ESXi host: size, use, state, and what it can reach."""

    moid: str
    name: str
    parent_moid: str | None
    cores: int
    cpu_mhz: int
    memory_bytes: int
    cpu_usage_mhz: int
    memory_usage_mb: int
    connection_state: str
    maintenance: bool
    datastores: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()


@dataclass(frozen=True)
class DatastoreFacts:
    """A datastore: capacity and free space in bytes."""

    moid: str
    name: str
    capacity: int
    free: int
    accessible: bool


@dataclass(frozen=True)
class NetworkFacts:
    """A network or distributed port group."""

    moid: str
    name: str
    distributed: bool


@dataclass(frozen=True)
class ComputeFacts:
    """A cluster or standalone compute resource and its root resource pool."""

    moid: str
    name: str
    cluster: bool
    resource_pool: str | None


@dataclass(frozen=True)
class DatacenterFacts:
    """A datacenter and its VM folder."""

    moid: str
    name: str
    vm_folder: str | None


@dataclass
class Snapshot:
    """Everything one observe read, by managed object id."""

    hosts: dict[str, HostFacts] = field(default_factory=dict)
    datastores: dict[str, DatastoreFacts] = field(default_factory=dict)
    networks: dict[str, NetworkFacts] = field(default_factory=dict)
    computes: dict[str, ComputeFacts] = field(default_factory=dict)
    datacenters: dict[str, DatacenterFacts] = field(default_factory=dict)
    vms: dict[str, VmFacts] = field(default_factory=dict)
    custom_fields: dict[int, str] = field(default_factory=dict)
    round_trips: int = 0
