"""The VMware provider: vCenter or ESXi through pyVmomi."""

from __future__ import annotations

import shutil
from typing import Any, ClassVar

from reconciler.models.diffrules import DiffRules
from reconciler.models.effective import EffectiveResource
from reconciler.models.inventory import Inventory, NodeFacts, ObservedResource, StoragePool
from reconciler.models.placement import Demand
from reconciler.models.plan import Change, Op
from reconciler.providers.base import ApplyResult, Provider, ProviderContext, RenderedArtifacts
from reconciler.providers.errors import PermanentProviderError, TransientProviderError
from reconciler.providers.vmware.apply import VmApplier
from reconciler.providers.vmware.apply_terraform import TerraformExecutor
from reconciler.providers.vmware.connection import Connection
from reconciler.providers.vmware.facts import Snapshot, VmFacts
from reconciler.providers.vmware.fields import (
    DIFF_RULES,
    desired_fields,
    rules_for,
    vm_demand,
    vm_fields,
    vm_options,
    vm_ownership,
)
from reconciler.providers.vmware.observe import observe_snapshot
from reconciler.providers.vmware.settings import VmwareSettings, load_settings

GIB = 1024**3


def inventory_from_snapshot(snapshot: Snapshot, lab: str, provider: str) -> Inventory:
    """Pure: hosts become nodes, VMs and templates become resources (owned or not)."""
    nodes = []
    allocated: dict[str, list[VmFacts]] = {}
    for vm in snapshot.vms.values():  # every VM's configuration counts, managed or not, powered on or not
        if not vm.template and vm.host:
            allocated.setdefault(vm.host, []).append(vm)
    for host in sorted(snapshot.hosts.values(), key=lambda h: h.name):
        guests = allocated.get(host.name, [])
        mounted = [snapshot.datastores[d] for d in host.datastores if d in snapshot.datastores]
        compute = snapshot.computes.get(host.parent_moid or "")
        labels = {
            "datastores": ",".join(sorted(d.name for d in mounted)),
            "networks": ",".join(sorted(snapshot.networks[n].name for n in host.networks if n in snapshot.networks)),
        }
        if compute is not None and compute.cluster:
            labels["cluster"] = compute.name
        nodes.append(
            NodeFacts(
                name=host.name,
                provider=provider,
                status="maintenance"
                if host.maintenance
                else ("online" if host.connection_state == "connected" else host.connection_state),
                cpu=float(host.cores),
                memory_gb=round(host.memory_bytes / GIB, 3),
                storage_gb=round(sum(d.capacity for d in mounted) / GIB, 3),
                cpu_used=round(host.cpu_usage_mhz / host.cpu_mhz, 3) if host.cpu_mhz else 0.0,
                memory_used_gb=round(host.memory_usage_mb / 1024, 3),
                storage_used_gb=round(sum(d.capacity - d.free for d in mounted) / GIB, 3),
                cpu_allocated=float(sum(vm.num_cpus for vm in guests)),
                memory_allocated_gb=round(sum(vm.memory_mb for vm in guests) / 1024, 3),
                guests=len(guests),
                storage=[
                    StoragePool(
                        name=d.name,
                        total_gb=round(d.capacity / GIB, 3),
                        used_gb=round((d.capacity - d.free) / GIB, 3),
                    )
                    for d in sorted(mounted, key=lambda d: d.name)
                ],
                labels=labels,
            )
        )
    resources = []
    for vm in sorted(snapshot.vms.values(), key=lambda v: (v.name, v.moid)):
        own = vm_ownership(vm)
        resources.append(
            ObservedResource(
                name=own.resource if own.owned and own.resource else vm.name,
                provider=provider,
                kind="template" if vm.template else "vm",
                id=vm.moid,
                node=vm.host,
                owned=own.owned and not vm.template,
                lab=own.lab,
                # An orphaned or inaccessible VM says so instead of a power state.
                status=vm.power_state if vm.connection_state == "connected" else vm.connection_state,
                fields=vm_fields(vm),
            )
        )
    return Inventory(
        provider=provider,
        provider_type="vmware",
        nodes=nodes,
        resources=resources,
        api_calls=snapshot.round_trips,
    )


class VmwareProvider(Provider):
    """vSphere VMs: observe with one property-collector retrieval, apply with tasks."""

    type: ClassVar[str] = "vmware"
    unset_size: ClassVar[tuple[float, float]] = (1.0, 1.0)  # see demand()
    diff_rules: ClassVar[DiffRules] = DIFF_RULES

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        self._settings: VmwareSettings | None = None
        self._conn: Connection | None = None

    @property
    def settings(self) -> VmwareSettings:
        """Settings from homeport.yaml (secrets resolved at first use, never stored)."""
        if self._settings is None:
            self._settings = load_settings(self.ctx.config, self.ctx.name)
        return self._settings

    @property
    def connection(self) -> Connection:
        """The session, opened on first use and kept until close() or a transient failure."""
        if self._conn is None:
            self._conn = Connection(self.settings)
        return self._conn

    def _reset_on_transient(self, exc: TransientProviderError) -> None:
        # An expired session or a dropped socket: start over with a fresh login next time.
        self.close()

    def observe(self) -> Inventory:
        """Hosts, datastores, networks and VMs in one retrieval; VMs without our mark are reported unowned."""
        try:
            snapshot = observe_snapshot(self.connection, self.settings.page_size, self.settings.full_refresh_every)
        except TransientProviderError as exc:
            self._reset_on_transient(exc)
            raise
        inventory = inventory_from_snapshot(snapshot, self.ctx.lab, self.ctx.name)
        inventory.observed_at = self.ctx.clock()
        return inventory

    def desired_fields(self, resource: EffectiveResource) -> dict[str, Any]:
        """Pure: what observe() reports once the resource is applied."""
        return desired_fields(resource)

    def diff_rules_for(
        self, resource: EffectiveResource, fields: dict[str, Any], observed: ObservedResource | None
    ) -> DiffRules:
        """vCPU and memory changes that need the VM powered off (hot-add off, a decrease) restart it
        (see fields.rules_for)."""
        return rules_for(fields, observed.fields if observed is not None else None)

    def demand(self, resource: EffectiveResource, fields: dict[str, Any]) -> Demand:
        """See fields.vm_demand."""
        return vm_demand(resource, fields)

    def apply(
        self, change: Change, resource: EffectiveResource | None, artifacts: RenderedArtifacts | None
    ) -> ApplyResult:
        """Carry out one change idempotently (reads live state first)."""
        if resource is not None and change.op is not Op.delete:
            vm_options(resource)  # bad options fail before any call
            if not change.desired:
                change = change.model_copy(update={"desired": desired_fields(resource)})
        try:
            if self.settings.executor == "terraform":
                return self._apply_terraform(change, resource, artifacts)
            return VmApplier(self.connection, self.settings, self.ctx.lab).apply(change, resource)
        except TransientProviderError as exc:
            self._reset_on_transient(exc)
            raise

    def _apply_terraform(
        self, change: Change, resource: EffectiveResource | None, artifacts: RenderedArtifacts | None
    ) -> ApplyResult:
        """Create, update or replace through the chart's Terraform; delete through it when it made the VM."""
        executor = TerraformExecutor(
            self.settings.terraform_binary, self.settings, self.ctx.work_dir, self.settings.terraform_timeout
        )
        applier = VmApplier(self.connection, self.settings, self.ctx.lab)
        name = change.resource
        if change.op is Op.noop:
            return ApplyResult(provider_id=change.provider_id, message=change.reason)
        if change.op is Op.delete:
            if not executor.has_state(name):
                return applier.apply(change, resource)
            outcome = executor.destroy(name)
            return ApplyResult(message=outcome.summary() or "destroyed", outputs={"actions": ["terraform destroy"]})
        if change.op is Op.rename:
            raise PermanentProviderError(
                f"{name}: the terraform executor cannot rename a VM; rename it with the default executor "
                "or move the Terraform state yourself (terraform state mv)"
            )
        actions: list[str] = []
        if change.op is Op.replace and executor.has_state(name):
            executor.destroy(name)
            actions.append("terraform destroy")
        snapshot = applier.snapshot()
        if not executor.has_state(name):
            if applier.owned_vm(snapshot, name) is not None:
                raise PermanentProviderError(
                    f"{name}: the VM exists but not in this executor's Terraform state; import it "
                    f"(terraform import in {executor.folder(name)}) or use the default executor"
                )
            strangers = [vm for vm in snapshot.vms.values() if vm.name == name]
            if strangers:
                raise PermanentProviderError(
                    f"{name}: a VM of that name already exists ({strangers[0].moid}) and homeport does not manage it"
                )
        keys = applier.ownership_keys(snapshot, name)
        values = applier.ownership_values(name)
        outcome = executor.apply(name, artifacts, {keys[n]: values[n] for n in keys})
        actions.append("terraform apply")
        fresh = applier.snapshot()
        vm = applier.owned_vm(fresh, name)
        if vm is None:
            raise PermanentProviderError(
                f"{name}: terraform applied but no VM carries homeport's notes line for it; "
                "the chart must write the ownership annotation"
            )
        if vm_ownership(vm).source != "attribute":
            applier.mark_owned(vm.moid, name, fresh)
            actions.append("mark owned")
        return ApplyResult(
            provider_id=vm.moid,
            node=vm.host,
            message=outcome.summary() or "applied",
            outputs={"actions": actions, "terraform": outcome.summary()},
        )

    def preflight(self, changes: list[Change]) -> list[str]:
        """Problems these changes would hit, each with its remedy: unusable hosts, name clashes, no binary."""
        problems: list[str] = []
        if self.settings.executor == "terraform" and shutil.which(self.settings.terraform_binary) is None:
            problems.append(
                f"terraform executor: {self.settings.terraform_binary!r} is not an executable on PATH; "
                "set options.terraform_binary"
            )
        creates = [c for c in changes if c.op in (Op.create, Op.replace)]
        if not creates:
            return problems
        applier = VmApplier(self.connection, self.settings, self.ctx.lab)
        snapshot = applier.snapshot()
        hosts = {h.name: h for h in snapshot.hosts.values()}
        for change in creates:
            if change.node and change.node not in hosts:
                problems.append(f"{change.resource}: host {change.node!r} is not in vSphere; fix the pool's nodes")
            elif change.node and (hosts[change.node].connection_state != "connected" or hosts[change.node].maintenance):
                problems.append(
                    f"{change.resource}: host {change.node} cannot take VMs now (disconnected or in maintenance)"
                )
            if change.op is Op.create and applier.owned_vm(snapshot, change.resource) is None:
                clash = [vm for vm in snapshot.vms.values() if vm.name == change.resource]
                if clash:
                    problems.append(
                        f"{change.resource}: an unmanaged VM of that name exists ({clash[0].moid}); "
                        "rename it or adopt it"
                    )
        return problems

    def close(self) -> None:
        """Log out."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


PROVIDER_CLASS = VmwareProvider
