"""Pure: where a new VM goes (host, datastore) and what it is cloned from, chosen from observed facts."""

from __future__ import annotations

from reconciler.models.effective import EffectiveResource
from reconciler.providers.errors import PermanentProviderError
from reconciler.providers.vmware.facts import HostFacts, Snapshot, VmFacts
from reconciler.providers.vmware.fields import VmOptions


def pick_host(snapshot: Snapshot, node: str | None, resource: EffectiveResource) -> HostFacts:
    """The pinned host, else the usable host with most free memory (ties by name): deterministic."""
    usable = [h for h in snapshot.hosts.values() if h.connection_state == "connected" and not h.maintenance]
    if node:
        for host in snapshot.hosts.values():
            if host.name == node:
                if host not in usable:
                    raise PermanentProviderError(
                        f"{resource.name}: host {node} is {host.connection_state}"
                        f"{' and in maintenance' if host.maintenance else ''}; pick another node"
                    )
                return host
        raise PermanentProviderError(
            f"{resource.name}: host {node!r} not found; "
            f"known: {', '.join(sorted(h.name for h in snapshot.hosts.values()))}"
        )
    candidates = [h for h in usable if not resource.candidate_nodes or h.name in resource.candidate_nodes]
    if not candidates:
        raise PermanentProviderError(f"{resource.name}: no connected host outside maintenance to place the VM on")
    return sorted(candidates, key=lambda h: (-(h.memory_bytes // 2**20 - h.memory_usage_mb), h.name))[0]


def pick_datastore(snapshot: Snapshot, host: HostFacts, options: VmOptions, name: str) -> str:
    """The named datastore, else the accessible one on the host with most free space (ties by name)."""
    mounted = [snapshot.datastores[d] for d in host.datastores if d in snapshot.datastores]
    if options.datastore:
        for ds in mounted:
            if ds.name == options.datastore:
                return ds.moid
        raise PermanentProviderError(
            f"{name}: datastore {options.datastore!r} is not mounted on host {host.name}; "
            f"mounted: {', '.join(sorted(d.name for d in mounted)) or 'none'}"
        )
    usable = [d for d in mounted if d.accessible]
    if not usable:
        raise PermanentProviderError(f"{name}: host {host.name} has no accessible datastore")
    return sorted(usable, key=lambda d: (-d.free, d.name))[0].moid


def clone_source(snapshot: Snapshot, source: str, name: str) -> VmFacts:
    """The template (or VM) to clone, by name; exactly one must exist."""
    found = [vm for vm in snapshot.vms.values() if vm.name == source]
    if len(found) != 1:
        raise PermanentProviderError(
            f"{name}: clone source {source!r} "
            f"{'not found' if not found else 'is ambiguous (several VMs)'}; "
            "fix overrides.vmware.clone_template"
        )
    return found[0]
