"""The Proxmox VE provider: wires the client, observer, applier and preflight together."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

from reconciler.assets import asset_dir
from reconciler.models.diffrules import DiffRules
from reconciler.models.effective import EffectiveResource
from reconciler.models.inventory import Inventory, ObservedResource
from reconciler.models.lab import duration_seconds
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
from reconciler.providers.proxmox.gpus import GpuCache
from reconciler.providers.proxmox.observe import CONFIGURED_PREFIX, Observer
from reconciler.providers.proxmox.preflight import preflight
from reconciler.providers.proxmox.tasks import NodeSlots, TaskPolicy

CONFIGURE_OPS = (Op.create, Op.update, Op.replace, Op.rename)


def _option_seconds(options: dict[str, Any], key: str, default: str) -> float:
    value = options.get(key, default)
    try:
        return float(value) if isinstance(value, int | float) else float(duration_seconds(str(value)))
    except ValueError as exc:
        raise PermanentProviderError(f"proxmox: options.{key}: {exc}") from exc


def _public_key(options: dict[str, Any], key_file: str | None) -> str | None:
    path = options.get("ssh_public_key_file") or (f"{key_file}.pub" if key_file else None)
    if not path:
        return None
    try:
        return Path(str(path)).expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise PermanentProviderError(
            f"proxmox: cannot read the SSH public key {path} for cloud-init: {exc.strerror}; "
            "set options.ssh_public_key_file"
        ) from exc


class ProxmoxProvider(Provider):
    """Proxmox VE through its HTTPS API (proxmoxer). Owned guests carry the tags homeport and homeport-<lab>.

    Options (homeport.yaml `options:`): task_timeout (600s), task_poll (1s), detail_refresh (1h),
    gpu_refresh (1h), ssh_public_key_file, ci_user (homeport), ansible_roles_paths ([]; homeport's
    roles are always on the path). credentials.ssh_key_file is the key the configure step logs in with.
    """

    type: ClassVar[str] = "proxmox"
    diff_rules: ClassVar[DiffRules] = fields.DIFF_RULES

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        opts = dict(ctx.config.options)
        self.policy = TaskPolicy(
            timeout=_option_seconds(opts, "task_timeout", "600s"),
            poll=_option_seconds(opts, "task_poll", "1s"),
        )
        self.detail_refresh = timedelta(seconds=_option_seconds(opts, "detail_refresh", "1h"))
        self.gpu_refresh = timedelta(seconds=_option_seconds(opts, "gpu_refresh", "1h"))
        self.slots = NodeSlots(ctx.config.max_concurrent_tasks)
        self._opts = opts
        self._client: PveClient | None = None
        self._observer: Observer | None = None
        self._sources: dict[str, str] = {}

    @property
    def client(self) -> PveClient:
        """The API client, built on first use (credentials are read then)."""
        if self._client is None:
            self._client = PveClient(self.ctx.config, timeout=_option_seconds(self._opts, "http_timeout", "30s"))
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

    def desired_fields(self, resource: EffectiveResource) -> dict[str, Any]:
        """Pure: the fields observe() reports once resource is applied (notes clone sources for preflight)."""
        source = fields.clone_source(resource)
        if source:
            self._sources[resource.name] = str(source)
        return fields.desired_fields(resource)

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
            ci_user=str(self._opts.get("ci_user", "homeport")),
            ssh_public_key=_public_key(self._opts, self.ctx.config.credentials.ssh_key_file),
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
        extra = self._opts.get("ansible_roles_paths") or []
        if not isinstance(extra, list):
            raise PermanentProviderError("proxmox: options.ansible_roles_paths must be a list of folders")
        roles = [Path(str(p)).expanduser() for p in extra]
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
