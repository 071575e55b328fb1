"""The Proxmox VE provider: wires the client, observer, applier and preflight together."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

from reconciler.assets import asset_dir
from reconciler.models.diffrules import DiffRules
from reconciler.models.effective import EffectiveResource
from reconciler.models.inventory import Inventory, ObservedResource
from reconciler.models.placement import Demand
from reconciler.models.plan import Change, Op
from reconciler.providers.ansible import playbook_path, run_playbook, target_for
from reconciler.providers.base import ApplyResult, HostResult, Provider, ProviderContext, RenderedArtifacts
from reconciler.providers.errors import PermanentProviderError, TransientProviderError
from reconciler.providers.proxmox import fields
from reconciler.providers.proxmox.apply import Applier, GuestAccess
from reconciler.providers.proxmox.client import PveClient
from reconciler.providers.proxmox.discover import ProxmoxDiscovery, discover
from reconciler.providers.proxmox.fields import guest_demand
from reconciler.providers.proxmox.fields import rules_for as rules_for_kind
from reconciler.providers.proxmox.gpus import GpuCache
from reconciler.providers.proxmox.observe import CONFIGURED_PREFIX, Observer
from reconciler.providers.proxmox.preflight import preflight
from reconciler.providers.proxmox.settings import load_settings
from reconciler.providers.proxmox.tasks import NodeSlots, TaskPolicy

CONFIGURE_OPS = (Op.create, Op.update, Op.replace, Op.rename)


class ProxmoxProvider(Provider):
    """Proxmox VE through its HTTPS API (proxmoxer). Owned guests carry the tags homeport and homeport-<lab>.

    Options: see settings.ProxmoxSettings. credentials.ssh_key_file is the key the configure step logs in with.
    """

    type: ClassVar[str] = "proxmox"
    unset_size: ClassVar[tuple[float, float]] = (1.0, 1.0)  # see demand()
    diff_rules: ClassVar[DiffRules] = fields.DIFF_RULES

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        self.settings = load_settings(ctx.config, ctx.name)
        self.policy = TaskPolicy(timeout=self.settings.task_timeout, poll=self.settings.task_poll)
        self.detail_refresh = timedelta(seconds=self.settings.detail_refresh)
        self.gpu_refresh = timedelta(seconds=self.settings.gpu_refresh)
        self.slots = NodeSlots(ctx.config.max_concurrent_tasks)
        self._client: PveClient | None = None
        self._observer: Observer | None = None
        self._sources: dict[str, str] = {}

    @property
    def client(self) -> PveClient:
        """The API client, built on first use (credentials are read then)."""
        if self._client is None:
            self._client = PveClient(self.ctx.config, timeout=self.settings.http_timeout)
        return self._client

    @property
    def observer(self) -> Observer:
        """The read-only side."""
        if self._observer is None:
            gpus = GpuCache(self.client, self.ctx.state, self.gpu_refresh)
            self._observer = Observer(
                self.client,
                self.ctx.state,
                provider=self.name,
                lab=self.ctx.lab,
                detail_refresh=self.detail_refresh,
                gpus=gpus,
            )
        return self._observer

    def observe(self) -> Inventory:
        """One GET /cluster/resources (+ a config read per owned guest whose cheap fields moved)."""
        return self.observer.observe(self.ctx.clock())

    def observe_reusing(self, max_age: float) -> Inventory:
        """One GET /cluster/resources; the guests of the last observe when none moved (Observer.observe), never
        longer than detail_refresh (how old a guest's config may be)."""
        reuse = min(timedelta(seconds=max_age), self.detail_refresh)
        return self.observer.observe(self.ctx.clock(), reuse_for=reuse)

    def desired_fields(self, resource: EffectiveResource) -> dict[str, Any]:
        """Pure: the fields observe() reports once resource is applied (notes clone sources for preflight)."""
        source = fields.clone_source(resource)
        if source:
            self._sources[resource.name] = str(source)
        return fields.desired_fields(resource)

    def diff_rules_for(
        self, resource: EffectiveResource, fields: dict[str, Any], observed: ObservedResource | None
    ) -> DiffRules:
        """A running VM's cores, memory, CPU type, GPU and cloud-init changes reboot it; a container's apply live
        (see fields.rules_for)."""
        status = observed.fields.get("status") if observed is not None else None
        return rules_for_kind(str(fields.get("kind") or "qemu"), str(status) if status else None)

    def demand(self, resource: EffectiveResource, fields: dict[str, Any]) -> Demand:
        """See fields.guest_demand."""
        return guest_demand(resource, fields)

    def discover(self) -> ProxmoxDiscovery:
        """Nodes, guests, templates, storage and GPUs with capacity and usage (discover-proxmox-resources)."""
        return discover(self.observer, self.ctx.clock())

    def load_detail(self, resource: ObservedResource) -> ObservedResource:
        """Read a guest's config when the listing did not."""
        return self.observer.load_detail(resource)

    def apply(
        self, change: Change, resource: EffectiveResource | None, artifacts: RenderedArtifacts | None
    ) -> ApplyResult:
        """Create, converge, rename or delete one guest, idempotently."""
        access = GuestAccess(
            ci_user=self.settings.ci_user,
            ssh_public_key=self.settings.public_key(self.ctx.config.credentials.ssh_key_file),
        )
        applier = Applier(self.client, self.ctx, self.slots, self.policy, self.observer, access, self.observer.gpus)
        result = applier.apply(change, resource)
        stamp = change.desired.get("configured")
        if change.op in CONFIGURE_OPS and resource is not None and stamp:
            # Forget the old stamp first: if configuring fails, the next plan shows it and runs it again.
            self.ctx.state.delete(CONFIGURED_PREFIX + change.resource)
            result.hosts = self._configure(resource, result, artifacts, access)
            self.ctx.state.put(CONFIGURED_PREFIX + change.resource, stamp)
            changed = sum(h.changed for h in result.hosts)
            result.message += f"; configured ({changed} changed)" if result.hosts else "; nothing to configure"
        return result

    def _configure(
        self,
        resource: EffectiveResource,
        result: ApplyResult,
        artifacts: RenderedArtifacts | None,
        access: GuestAccess,
    ) -> list[HostResult]:
        """Run the chart's playbook against the guest; unreachable is transient, a failed task permanent."""
        playbook = playbook_path(artifacts, self.ctx.work_dir) if artifacts is not None else None
        if playbook is None:
            return []
        target = target_for(resource, result, user=access.ci_user)
        if target is None:
            raise TransientProviderError(
                f"proxmox: {resource.name} has no address to configure yet (no static IP, no guest agent answer)"
            )
        key = self.ctx.config.credentials.ssh_key_file
        roles = [Path(p).expanduser() for p in self.settings.ansible_roles_paths]
        run = run_playbook(
            playbook,
            [target],
            work_dir=self.ctx.work_dir,
            private_key=Path(key).expanduser() if key else None,
            roles_paths=[*roles, asset_dir("ansible") / "roles"],
        )
        recap = ", ".join(
            f"{h.host}: ok={h.ok} changed={h.changed} failed={h.failed} unreachable={h.unreachable}" for h in run.hosts
        )
        if any(h.unreachable for h in run.hosts):
            raise TransientProviderError(f"ansible: {resource.name} unreachable at {target.address} ({recap})", 30.0)
        if not run.ok:
            raise PermanentProviderError(
                f"ansible: configuring {resource.name} failed ({recap}); details in {run.artifacts}"
            )
        return run.hosts

    def preflight(self, changes: list[Change]) -> list[str]:
        """Privileges, GPU passthrough, storage content and clone sources, each problem with its remedy."""
        return preflight(self.client, changes, self._sources)

    def close(self) -> None:
        """Drop the HTTP session."""
        if self._client is not None:
            self._client.close()


PROVIDER_CLASS = ProxmoxProvider
