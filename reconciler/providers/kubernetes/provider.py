"""The kubernetes provider: a resource is the set of objects carrying its labels, applied server-side."""

from __future__ import annotations

from typing import Any, ClassVar

from reconciler.models.diffrules import DiffRules
from reconciler.models.effective import EffectiveResource
from reconciler.models.inventory import Inventory, ObservedResource
from reconciler.models.plan import Change, Op
from reconciler.providers.base import ApplyResult, Provider, ProviderContext, RenderedArtifacts
from reconciler.providers.errors import PermanentProviderError, ProviderError
from reconciler.providers.kubernetes.api import KubeApi, api_client
from reconciler.providers.kubernetes.apply import (
    CUSTOM_ORDER,
    SHARED_KINDS,
    Discovery,
    Target,
    apply_targets,
    autoscaled,
    current_objects,
    delete_objects,
    ensure_namespaces,
    live_objects,
    namespace_exists,
    parse_manifests,
    plan_targets,
    strip_autoscaled_replicas,
)
from reconciler.providers.kubernetes.errors import FieldConflictError
from reconciler.providers.kubernetes.facts import KINDS, KindInfo, object_key
from reconciler.providers.kubernetes.fields import DIFF_RULES, chart_values, desired_fields
from reconciler.providers.kubernetes.observe import (
    observe_nodes,
    observe_objects,
    observed_resources,
    server_version,
    unmanaged_workloads,
)
from reconciler.providers.kubernetes.ownership import applied_record
from reconciler.providers.kubernetes.secrets import secret_manifest
from reconciler.providers.kubernetes.settings import KubernetesSettings, load_settings

# Provider state: kinds beyond the chart's this lab applied (kind -> api_version, plural), so observe lists them.
EXTRA_KINDS_KEY = "kubernetes/extra-kinds"
# Provider state: per resource, Kind/name -> the fields homeport's last apply owned and their values (ownership.py).
APPLIED_PREFIX = "kubernetes/applied/"


class KubernetesProvider(Provider):
    """One cluster per provider instance: kubeconfig + context, in-cluster, or endpoint + token."""

    type: ClassVar[str] = "kubernetes"
    diff_rules: ClassVar[DiffRules] = DIFF_RULES

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        self.settings: KubernetesSettings = load_settings(ctx.name, ctx.config)
        self._api: KubeApi | None = None
        self._served: dict[str, str] = {}  # kind -> the group/version the server serves it under
        self._objects: dict[str, list[dict[str, Any]]] = {}

    @property
    def api(self) -> KubeApi:
        """The API seam, connected on first use."""
        if self._api is None:
            self._api = KubeApi(api_client(self.settings), timeout=self.settings.options.request_timeout)
        return self._api

    @property
    def api_calls(self) -> int:
        """API requests made so far by this provider instance."""
        return self._api.calls if self._api is not None else 0

    def observe(self) -> Inventory:
        """The lab's objects (one list per kind per namespace, or cluster-wide), nodes and their requests."""
        before = self.api_calls
        inventory = Inventory(provider=self.name, provider_type=self.type, observed_at=self.ctx.clock())
        obs = observe_objects(
            self.api, self.ctx.lab, self.settings.options.namespaces, self._served, self._extra_kinds()
        )
        self._objects = obs.objects
        applied = {k.removeprefix(APPLIED_PREFIX): v for k, v in self.ctx.state.items(APPLIED_PREFIX).items()}
        inventory.resources = observed_resources(
            self.name, self.ctx.lab, obs.objects, self.settings.options.gpu_resource, applied
        )
        if self.settings.options.report_unmanaged:
            inventory.resources.extend(
                unmanaged_workloads(self.api, self.ctx.lab, self.settings.options.namespaces, self.name)
            )
        if obs.missing_kinds:
            inventory.errors.append(f"the API server serves none of: {', '.join(obs.missing_kinds)}")
        try:
            inventory.nodes = observe_nodes(self.api, self.name, self.settings.options.gpu_resource)
        except PermanentProviderError as exc:
            # Listing nodes needs cluster-wide read rights a namespaced user may lack: capacity is then unknown.
            inventory.errors.append(f"capacity unknown: {exc}")
        inventory.api_calls = self.api_calls - before
        return inventory

    def _extra_kinds(self) -> dict[str, KindInfo]:
        """Namespaced kinds beyond the chart's that this lab's resources were applied with (custom resources)."""
        stored = self.ctx.state.get(EXTRA_KINDS_KEY) or {}
        return {
            kind: KindInfo(str(v["api_version"]), str(v["plural"]), True, CUSTOM_ORDER) for kind, v in stored.items()
        }

    def _remember_kinds(self, targets: list[Target]) -> None:
        stored = dict(self.ctx.state.get(EXTRA_KINDS_KEY) or {})
        new = {
            str(t.manifest["kind"]): {"api_version": t.info.api_version, "plural": t.info.plural}
            for t in targets
            if t.info.namespaced and t.manifest["kind"] not in KINDS and t.manifest["kind"] not in stored
        }
        if new:
            self.ctx.state.put(EXTRA_KINDS_KEY, {**stored, **new})

    def find(self, name: str) -> ObservedResource | None:
        """The resource's objects, if any exist."""
        return self.observe().owned(self.ctx.lab).get(name)

    def desired_fields(self, resource: EffectiveResource) -> dict[str, Any]:
        """See fields.desired_fields."""
        return desired_fields(resource)

    def _force(self, resource: EffectiveResource | None) -> bool:
        policy = self.settings.options.conflicts
        if policy == "always":
            return True
        if policy == "never" or resource is None:
            return False
        return resource.sync.self_heal is True

    def _targets(self, resource: EffectiveResource, artifacts: RenderedArtifacts) -> list[Target]:
        docs = parse_manifests(artifacts.files)
        secret = secret_manifest(resource, chart_values(resource)["namespace"])
        if secret is not None:
            docs.append(secret)
        if not docs:
            raise PermanentProviderError(f"{resource.name}: the chart {artifacts.chart} rendered no manifests")
        return plan_targets(
            docs, Discovery(self.api), self.ctx.lab, resource.name, self.settings.options.namespace
        )

    def _namespaces(self, name: str, targets: list[Target] | None = None) -> list[str]:
        spaces = {str((o.get("metadata") or {}).get("namespace")) for o in self._objects.get(name, [])}
        spaces |= {t.namespace for t in targets or [] if t.namespace}
        return sorted(s for s in spaces if s and s != "None")

    def apply(
        self, change: Change, resource: EffectiveResource | None, artifacts: RenderedArtifacts | None
    ) -> ApplyResult:
        """Create/update/replace: server-side apply, then prune the resource's objects no longer rendered."""
        if change.op is Op.noop:
            return ApplyResult(provider_id=change.provider_id, message=change.reason)
        if not self._objects or change.op in (Op.delete, Op.replace, Op.rename):
            self.observe()
        if change.op is Op.rename:
            return self._rename(change, resource, artifacts)
        if change.op is Op.delete:
            return self._delete(change.resource)
        if resource is None or artifacts is None:
            raise PermanentProviderError(f"{change.resource}: {change.op.value} needs the rendered manifests")
        targets = self._targets(resource, artifacts)
        if change.op is Op.replace:
            self._delete(resource.name)
            self._objects.pop(resource.name, None)
        # Who owns an autoscaled workload's replicas right now decides whether homeport still sends them.
        targets = strip_autoscaled_replicas(targets, current_objects(self.api, targets, autoscaled(targets)))
        created = ensure_namespaces(self.api, targets, self.settings.options.create_namespaces)
        self._remember_kinds(targets)
        answers = apply_targets(self.api, resource.name, targets, force=self._force(resource), sleep=self.ctx.sleep)
        applied = list(answers)
        # What homeport now owns in each object, with the values stored: observe's reference for drift.
        self.ctx.state.put(APPLIED_PREFIX + resource.name, {
            key: applied_record(obj) for key, obj in answers.items() if key.split("/")[0] not in SHARED_KINDS
        })
        extra = self._extra_kinds()
        live = live_objects(
            self.api, self.ctx.lab, resource.name, self._namespaces(resource.name, targets), self._served, extra
        )
        stale = [o for o in live if object_key(o) not in applied]
        pruned = delete_objects(self.api, stale, self._served, extra)
        self._objects[resource.name] = [o for o in live if object_key(o) in applied]
        workload = next((t for t in targets if t.manifest["kind"] in ("Deployment", "StatefulSet")), targets[0])
        message = f"{resource.name}: applied {len(applied)} object(s) server-side ({', '.join(applied)})"
        if created:
            message += f"; created namespace {', '.join(created)}"
        if pruned:
            message += f"; pruned {', '.join(pruned)}"
        return ApplyResult(
            provider_id=f"{workload.namespace or ''}/{workload.manifest['metadata']['name']}",
            message=message,
            outputs={"objects": applied, "namespace": workload.namespace},
        )

    def _rename(
        self, change: Change, resource: EffectiveResource | None, artifacts: RenderedArtifacts | None
    ) -> ApplyResult:
        """Kubernetes names are immutable: the new objects are applied, then the old name's are deleted."""
        old = change.previous_name or ""
        if resource is not None and resource.stateful and self._objects.get(old):
            raise PermanentProviderError(
                f"{change.resource}: a stateful workload's volume claims carry its name, so renaming "
                f"{old} would start it on empty volumes; keep the name, or delete {old} and create "
                f"{change.resource} once its data is saved"
            )
        created = self.apply(change.model_copy(update={"op": Op.create}), resource, artifacts)
        removed = self._delete(old)
        created.message += f"; renamed from {old}: {removed.message}"
        return created

    def _delete(self, name: str) -> ApplyResult:
        objects = self._objects.get(name, [])
        if not objects:
            return ApplyResult(message=f"{name}: already gone")
        deleted = delete_objects(self.api, objects, self._served, self._extra_kinds())
        self._objects.pop(name, None)
        self.ctx.state.delete(APPLIED_PREFIX + name)
        return ApplyResult(message=f"{name}: deleted {', '.join(deleted)}")

    def preview(
        self, change: Change, resource: EffectiveResource | None, artifacts: RenderedArtifacts | None
    ) -> dict[str, Any] | None:
        """A server-side dry run (dryRun=All) of every manifest: the API's own verdict, nothing written."""
        if change.op in (Op.noop, Op.delete) or resource is None or artifacts is None:
            return None
        targets = self._targets(resource, artifacts)
        lines = []
        ok = True
        for target in targets:
            if target.namespace and not namespace_exists(self.api, target.namespace):
                lines.append(f"{target.key}: namespace {target.namespace} will be created first")
                continue
            try:
                self.api.apply(target.path, target.manifest, force=self._force(resource), dry_run=True,
                               what=f"dry run {target.key}")
                lines.append(f"{target.key}: accepted (dry run)")
            except FieldConflictError as exc:
                ok = False
                lines.append(f"{target.key}: conflict: {'; '.join(exc.conflicts) or exc}")
            except ProviderError as exc:
                ok = False
                lines.append(f"{target.key}: {exc}")
        return {"dry_run": "All", "accepted": ok, "lines": lines}

    preflight_renders = True

    def preflight_rendered(
        self, change: Change, resource: EffectiveResource, artifacts: RenderedArtifacts | None
    ) -> list[str]:
        """A server-side dry run (dryRun=All) of every manifest the change would apply: each refusal with the
        API server's own message (objects in a namespace still to be created are checked at apply)."""
        preview = self.preview(change, resource, artifacts)
        if preview is None or preview["accepted"]:
            return []
        return [f"the API server refuses {line} (server-side dry run)" for line in preview["lines"]
                if not line.endswith("accepted (dry run)") and not line.endswith("will be created first")]

    def preflight(self, changes: list[Change]) -> list[str]:
        """The API server answers, and each change's namespace exists or may be created."""
        problems: list[str] = []
        try:
            server_version(self.api)
        except ProviderError as exc:
            return [f"{exc} ({self.settings.source}): check the endpoint, kubeconfig and network"]
        for change in changes:
            if change.op in (Op.noop, Op.delete):
                continue
            namespace = str(change.desired.get("namespace") or self.settings.options.namespace)
            watched = self.settings.options.namespaces
            if watched and namespace not in watched:
                problems.append(
                    f"namespace {namespace} is not in options.namespaces ({', '.join(watched)}): homeport would "
                    "not see what it applies there; add it"
                )
                continue
            try:
                if not namespace_exists(self.api, namespace) and not self.settings.options.create_namespaces:
                    problems.append(
                        f"namespace {namespace} does not exist and options.create_namespaces is false: create it"
                    )
            except ProviderError as exc:
                problems.append(f"namespace {namespace}: {exc}")
        return problems

    def close(self) -> None:
        """Release the connection pool."""
        if self._api is not None:
            self._api.close()
            self._api = None


PROVIDER_CLASS = KubernetesProvider
