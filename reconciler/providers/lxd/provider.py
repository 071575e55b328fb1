"""The LXD provider: containers and virtual machines through pylxd, configured over SSH by Ansible."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from reconciler.assets import asset_dir
from reconciler.models.diffrules import DiffRules
from reconciler.models.effective import EffectiveResource
from reconciler.models.inventory import Inventory, ObservedResource
from reconciler.models.plan import Change, Op
from reconciler.providers.ansible import playbook_path, run_playbook, target_for
from reconciler.providers.base import ApplyResult, HostResult, Provider, ProviderContext, RenderedArtifacts
from reconciler.providers.errors import PermanentProviderError, TransientProviderError
from reconciler.providers.lxd.apply import Applier
from reconciler.providers.lxd.client import LxdClient
from reconciler.providers.lxd.fields import (
    DIFF_RULES,
    desired_fields,
    instance_request,
    instance_type,
    restart_reasons,
    rules_for,
)
from reconciler.providers.lxd.observe import Observer
from reconciler.providers.lxd.settings import LxdSettings, load_settings

CONFIGURE_OPS = (Op.create, Op.update, Op.replace, Op.rename)


class LxdProvider(Provider):
    """LXD instances owned through user.homeport.* keys; observe is one instances listing per cycle."""

    type: ClassVar[str] = "lxd"
    diff_rules: ClassVar[DiffRules] = DIFF_RULES

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        self._settings: LxdSettings | None = None
        self._client: LxdClient | None = None
        self._observer: Observer | None = None

    @property
    def settings(self) -> LxdSettings:
        """Settings from homeport.yaml, checked at first use."""
        if self._settings is None:
            self._settings = load_settings(self.ctx.config, self.ctx.name)
        return self._settings

    @property
    def client(self) -> LxdClient:
        """The REST client, connected on first use and kept until close() or a transient failure."""
        if self._client is None:
            self._client = LxdClient(self.settings)
        return self._client

    @property
    def observer(self) -> Observer:
        """The read-only side."""
        if self._observer is None:
            self._observer = Observer(
                self.client,
                self.ctx.state,
                provider=self.name,
                node_name=self.settings.node_name,
                refresh=self.settings.resources_refresh,
                recursion=self.settings.observe_recursion,
            )
        return self._observer

    def applier(self) -> Applier:
        """The writing side."""
        return Applier(self.client, self.settings, self.ctx.lab, sleep=self.ctx.sleep)

    def _drop_connection(self) -> None:
        self.close()

    def observe(self) -> Inventory:
        """One GET /1.0/instances (host resources re-read every options.resources_refresh)."""
        try:
            return self.observer.observe(self.ctx.clock())
        except TransientProviderError:
            self._drop_connection()
            raise

    def desired_fields(self, resource: EffectiveResource) -> dict[str, Any]:
        """Pure: what observe() reports once the resource is applied."""
        return desired_fields(resource)

    def diff_rules_for(
        self, resource: EffectiveResource, fields: dict[str, Any], observed: ObservedResource | None
    ) -> DiffRules:
        """A VM's cpu, memory, root disk and GPU changes restart it (a container takes them live); nesting
        restarts a container. Only a running instance is restarted (see fields.rules_for)."""
        return rules_for(str(fields.get("type") or instance_type(resource)), observed.status if observed else None)

    def apply(
        self, change: Change, resource: EffectiveResource | None, artifacts: RenderedArtifacts | None
    ) -> ApplyResult:
        """Create, converge, start/stop, rename or delete one instance, then configure it when asked."""
        if resource is not None and change.op is not Op.delete and not change.desired:
            change = change.model_copy(update={"desired": desired_fields(resource)})
        request = None
        if change.op not in (Op.delete, Op.noop):
            request = instance_request(artifacts, change.resource)
        try:
            applier = self.applier()
            result = applier.apply(change, request)
            stamp = change.desired.get("configured")
            if change.op in CONFIGURE_OPS and resource is not None and stamp:
                # Forget the old stamp first: if configuring fails, the next plan shows it and runs it again.
                applier.mark_configured(change.resource, None)
                result.hosts = self._configure(applier, resource, result, artifacts)
                applier.mark_configured(change.resource, str(stamp))
                changed = sum(h.changed for h in result.hosts)
                result.message += f"; configured ({changed} changed)" if result.hosts else "; nothing to configure"
            return result
        except TransientProviderError:
            self._drop_connection()
            raise

    def _public_key(self) -> str:
        path = self.settings.ssh_public_key_file
        if not path:
            raise PermanentProviderError(
                f"lxd: providers.{self.name}: configuring needs an SSH key: set credentials.ssh_key_file "
                "(its .pub is pushed to the instance) or options.ssh_public_key_file"
            )
        try:
            return Path(path).expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise PermanentProviderError(
                f"lxd: cannot read the SSH public key {path}: {exc.strerror}; set options.ssh_public_key_file"
            ) from exc

    def _configure(
        self, applier: Applier, resource: EffectiveResource, result: ApplyResult, artifacts: RenderedArtifacts | None
    ) -> list[HostResult]:
        """Push the SSH key through the files API, then run the chart's playbook over SSH."""
        playbook = playbook_path(artifacts, self.ctx.work_dir) if artifacts is not None else None
        if playbook is None:
            return []
        user = str(resource.properties.get("ssh_user") or self.settings.ssh_user)
        applier.push_authorized_key(resource.name, user, self._public_key())
        if not result.outputs.get("address"):
            result.outputs["address"] = applier.wait_for_address(resource.name)
        target = target_for(resource, result, user=user)
        if target is None:
            raise TransientProviderError(f"lxd: {resource.name} has no address to configure yet", 30.0)
        key = self.settings.ssh_key_file
        run = run_playbook(
            playbook,
            [target],
            work_dir=self.ctx.work_dir,
            private_key=Path(key) if key else None,
            roles_paths=[
                *(Path(p).expanduser() for p in self.settings.ansible_roles_paths),
                asset_dir("ansible") / "roles",
            ],
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

    def preview(
        self, change: Change, resource: EffectiveResource | None, artifacts: RenderedArtifacts | None
    ) -> dict[str, Any] | None:
        """What LXD will do: the request (create), or which fields apply live and which need a restart."""
        if resource is None or change.op in (Op.noop, Op.delete):
            return None
        kind = instance_type(resource)
        if change.op in (Op.create, Op.replace):
            request = instance_request(artifacts, change.resource)
            lines = [
                f"POST /1.0/instances: {request['type']} {change.resource} from image "
                f"{request.get('source', {}).get('alias') or request.get('source', {}).get('fingerprint')}",
                f"config: {', '.join(sorted(request['config']))}",
                f"devices: {', '.join(sorted(request['devices']))}",
            ]
            return {"lines": lines, "restart": False}
        paths = [f.path for f in change.fields]
        slow = restart_reasons(kind, paths)
        if slow:
            lines = [f"restart: {', '.join(slow)} on a {kind} take effect only at start; homeport restarts it"]
        else:
            lines = [f"applied live on the running {kind}, no restart: {', '.join(paths)}"]
        return {"lines": lines, "restart": bool(slow), "restart_fields": slow}

    def preflight(self, changes: list[Change]) -> list[str]:
        """GPUs asked for where the host has none; a name held by an instance homeport does not manage."""
        problems: list[str] = []
        creates = [c for c in changes if c.op in (Op.create, Op.replace, Op.update)]
        if not creates:
            return problems
        inventory = self.observe()
        nodes = {n.name: n for n in inventory.nodes}
        by_id = {r.id: r for r in inventory.resources}
        for change in creates:
            wanted = int(change.desired.get("gpu_count") or 0)
            node = nodes.get(change.node or "") or (next(iter(nodes.values())) if len(nodes) == 1 else None)
            if wanted and node is not None and node.free_gpus < wanted:
                problems.append(
                    f"{change.resource}: asks for {wanted} GPU(s) but LXD host {node.name} has {node.free_gpus} free "
                    "(/1.0/resources lists its cards); drop gpu or place it on a host with one"
                )
            clash = by_id.get(change.resource)
            if change.op is Op.create and clash is not None and not (clash.owned and clash.lab == self.ctx.lab):
                problems.append(
                    f"{change.resource}: an instance of that name exists and homeport does not manage it; "
                    "rename it or the resource"
                )
        return problems

    def close(self) -> None:
        """Drop the HTTP session; the next call reconnects."""
        if self._client is not None:
            self._client.close()
        self._client = None
        self._observer = None


PROVIDER_CLASS = LxdProvider
