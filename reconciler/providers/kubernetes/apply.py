"""The only code that changes a cluster: server-side apply of a resource's manifests, prune, delete.

Order: namespaces and CRDs first, then config, storage, workloads, services, disruption budgets and
autoscalers; deletes in the reverse order. Every manifest is dry-run on the server (dryRun=All)
before any is written, so a manifest the API refuses leaves the cluster as it was.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from reconciler.providers.errors import PermanentProviderError, TransientProviderError
from reconciler.providers.kubernetes.api import KubeApi, quoted
from reconciler.providers.kubernetes.errors import FieldConflictError, NotFoundError
from reconciler.providers.kubernetes.facts import (
    KINDS,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    OBSERVED_KINDS,
    WORKLOAD_KINDS,
    KindInfo,
    collection_path,
    field_owners_all,
    object_key,
    owner_labels,
    resource_selector,
)
from reconciler.providers.kubernetes.settings import FIELD_MANAGER


@dataclass(frozen=True)
class Target:
    """One object to apply: its manifest and where it goes."""

    manifest: dict[str, Any]
    info: KindInfo
    namespace: str | None

    @property
    def key(self) -> str:
        """Kind/name."""
        return object_key(self.manifest)

    @property
    def path(self) -> str:
        """The object's REST path."""
        name = quoted(str(self.manifest["metadata"]["name"]))
        version = str(self.manifest["apiVersion"])
        return f"{collection_path(version, self.info.plural, self.namespace)}/{name}"


CRD = "CustomResourceDefinition"
CUSTOM_ORDER = 50  # custom resources after their CRDs and the built-in config, before Services
# Shared by many resources, or deleting them would delete every object of their kind: never one resource's.
SHARED_KINDS = ("Namespace", CRD)


class Discovery:
    """Plural names and scope of kinds outside the built-in table, from /api(s)/<group>/<version>."""

    def __init__(self, api: KubeApi) -> None:
        self.api = api
        self.cache: dict[tuple[str, str], KindInfo] = {}

    def define(self, crd: dict[str, Any]) -> None:
        """Learn the kind a CustomResourceDefinition in the same manifests defines (not served yet)."""
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        for version in spec.get("versions") or []:
            api_version = f"{spec.get('group')}/{version.get('name')}"
            self.cache[(api_version, str(names.get("kind")))] = KindInfo(
                api_version, str(names.get("plural")), spec.get("scope") == "Namespaced", CUSTOM_ORDER
            )

    def info(self, api_version: str, kind: str) -> KindInfo:
        """Where a kind lives; PermanentProviderError when the server does not serve it."""
        if kind in KINDS:
            known = KINDS[kind]
            return KindInfo(api_version, known.plural, known.namespaced, known.order)
        key = (api_version, kind)
        if key not in self.cache:
            path = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
            try:
                answer = self.api.get(path, what=f"discover {api_version}")
            except NotFoundError:
                answer = {}
            for item in answer.get("resources") or []:
                if item.get("kind") == kind and "/" not in str(item.get("name", "")):
                    self.cache[key] = KindInfo(
                        api_version, str(item["name"]), bool(item.get("namespaced")), CUSTOM_ORDER
                    )
                    break
            else:
                raise PermanentProviderError(
                    f"the API server does not serve {kind} in {api_version}: install its CRD first or change the "
                    "chart's apiVersion"
                )
        return self.cache[key]


def parse_manifests(files: dict[str, str]) -> list[dict[str, Any]]:
    """Every YAML document of the rendered files (file name order), skipping empty ones."""
    docs: list[dict[str, Any]] = []
    for name in sorted(files):
        if not name.endswith((".yaml", ".yml", ".json")):
            continue
        try:
            loaded = list(yaml.safe_load_all(files[name]))
        except yaml.YAMLError as exc:
            raise PermanentProviderError(f"{name}: not YAML: {exc}") from exc
        for doc in loaded:
            if doc is None:
                continue
            if not isinstance(doc, dict) or not doc.get("kind") or not doc.get("apiVersion"):
                raise PermanentProviderError(f"{name}: a manifest needs apiVersion, kind and metadata.name")
            if not (doc.get("metadata") or {}).get("name"):
                raise PermanentProviderError(f"{name}: {doc['kind']} without metadata.name")
            docs.append(doc)
    return docs


def plan_targets(
    docs: list[dict[str, Any]], discovery: Discovery, lab: str, resource: str, default_namespace: str
) -> list[Target]:
    """Targets in apply order, each labelled as the resource's (namespaces: lab label only)."""
    targets = []
    for doc in docs:
        if doc.get("kind") == CRD:
            discovery.define(doc)
    for doc in docs:
        manifest = copy.deepcopy(doc)
        info = discovery.info(str(manifest["apiVersion"]), str(manifest["kind"]))
        meta = manifest.setdefault("metadata", {})
        labels = meta.setdefault("labels", {})
        if manifest["kind"] in SHARED_KINDS:
            # Never one resource's, so never pruned or deleted with one.
            labels.setdefault(MANAGED_BY_LABEL, MANAGED_BY_VALUE)
        else:
            labels.update(owner_labels(lab, resource))
        namespace = None
        if info.namespaced:
            namespace = str(meta.get("namespace") or default_namespace)
            meta["namespace"] = namespace
        targets.append(Target(manifest, info, namespace))
    return sorted(targets, key=lambda t: (t.info.order, t.key))


def namespace_manifest(name: str) -> dict[str, Any]:
    """A namespace homeport creates for a manifest that needs it."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {MANAGED_BY_LABEL: MANAGED_BY_VALUE}},
    }


def namespace_exists(api: KubeApi, name: str) -> bool:
    """Whether a namespace exists (and is not being deleted)."""
    try:
        answer = api.get(f"/api/v1/namespaces/{quoted(name)}", what=f"namespace {name}")
    except NotFoundError:
        return False
    return (answer.get("status") or {}).get("phase") != "Terminating"


def ensure_namespaces(api: KubeApi, targets: list[Target], create: bool) -> list[str]:
    """Create the targets' missing namespaces (when allowed); the names created."""
    created = []
    declared = {str(t.manifest["metadata"]["name"]) for t in targets if t.manifest["kind"] == "Namespace"}
    for namespace in sorted({t.namespace for t in targets if t.namespace} - declared):
        if namespace_exists(api, namespace):
            continue
        if not create:
            raise PermanentProviderError(
                f"namespace {namespace} does not exist and options.create_namespaces is false: create it first"
            )
        api.apply(f"/api/v1/namespaces/{quoted(namespace)}", namespace_manifest(namespace), force=False,
                  what=f"create namespace {namespace}")
        created.append(namespace)
    return created


def kind_table(extra: dict[str, KindInfo]) -> dict[str, KindInfo]:
    """The kinds a lab's resources are made of: the chart's, and custom ones applied before."""
    return {**{k: KINDS[k] for k in OBSERVED_KINDS}, **extra}


def live_objects(
    api: KubeApi, lab: str, resource: str, namespaces: list[str], served: dict[str, str], extra: dict[str, KindInfo]
) -> list[dict[str, Any]]:
    """The resource's objects now, found by its labels: one list per kind per namespace."""
    found: list[dict[str, Any]] = []
    for kind, info in kind_table(extra).items():
        version = served.get(kind, info.api_version)
        for namespace in namespaces:
            path = collection_path(version, info.plural, namespace)
            try:
                found.extend(api.list_all(path, resource_selector(lab, resource), what=f"list {kind} in {namespace}"))
            except NotFoundError:
                break
    return found


def autoscaled(targets: list[Target]) -> set[str]:
    """Kind/name of the workloads a HorizontalPodAutoscaler among the targets scales."""
    scaled = set()
    for t in targets:
        if t.manifest["kind"] == "HorizontalPodAutoscaler":
            ref = (t.manifest.get("spec") or {}).get("scaleTargetRef") or {}
            scaled.add(f"{ref.get('kind')}/{ref.get('name')}")
    return scaled


def current_objects(api: KubeApi, targets: list[Target], keys: set[str]) -> dict[str, dict[str, Any]]:
    """The live objects of the targets named (one GET each); absent ones are left out."""
    out = {}
    for t in targets:
        if t.key in keys:
            with contextlib.suppress(NotFoundError):
                out[t.key] = api.get(t.path, what=f"read {t.key}")
    return out


def strip_autoscaled_replicas(targets: list[Target], existing: dict[str, dict[str, Any]]) -> list[Target]:
    """Leave spec.replicas to the HorizontalPodAutoscaler once it has changed them.

    While homeport still owns the field (the autoscaler has not acted) it keeps sending the HPA's
    minimum, so replicas never drop; once another field manager owns it (the autoscaler scaled),
    the applied manifest omits it, as Kubernetes' server-side apply guide recommends.
    """
    scaled = autoscaled(targets)
    out = []
    for t in targets:
        live = existing.get(t.key)
        if t.manifest["kind"] in WORKLOAD_KINDS and t.key in scaled and live is not None:
            owners = {m for path, m in field_owners_all(live) if path == "spec.replicas"}
            if owners and FIELD_MANAGER not in owners:
                manifest = copy.deepcopy(t.manifest)
                manifest.get("spec", {}).pop("replicas", None)
                t = Target(manifest, t.info, t.namespace)
        out.append(t)
    return out


def conflict_message(resource: str, exc: FieldConflictError) -> str:
    """What a person reads when another field manager owns fields homeport sets."""
    fields = "; ".join(exc.conflicts) or str(exc)
    return (
        f"{resource}: fields homeport sets are owned by another field manager ({fields}); homeport takes them "
        "back only when the resource's sync.self_heal is true (or the provider's options.conflicts is always)"
    )


def wait_established(api: KubeApi, name: str, sleep: Callable[[float], None], attempts: int = 150) -> None:
    """Wait until a CustomResourceDefinition is served (its Established condition)."""
    path = f"{collection_path('apiextensions.k8s.io/v1', 'customresourcedefinitions', None)}/{quoted(name)}"
    for _ in range(attempts):
        crd = api.get(path, what=f"CustomResourceDefinition {name}")
        conditions = (crd.get("status") or {}).get("conditions") or []
        if any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions):
            return
        sleep(0.2)
    raise TransientProviderError(f"CustomResourceDefinition {name} is not established yet", delay=10.0)


def apply_targets(
    api: KubeApi, resource: str, targets: list[Target], *, force: bool, sleep: Callable[[float], None]
) -> dict[str, dict[str, Any]]:
    """CRDs first (applied and established), then dry-run every other target and apply them in order.

    Returns Kind/name -> the object the API server answered each apply with, in apply order.
    """
    crds = [t for t in targets if t.manifest["kind"] == CRD]
    applied = _dry_run_then_apply(api, resource, crds, force=force) if crds else {}
    for crd in crds:
        wait_established(api, str(crd.manifest["metadata"]["name"]), sleep)
    rest = [t for t in targets if t.manifest["kind"] != CRD]
    return {**applied, **_dry_run_then_apply(api, resource, rest, force=force)}


def _dry_run_then_apply(
    api: KubeApi, resource: str, targets: list[Target], *, force: bool
) -> dict[str, dict[str, Any]]:
    problems = []
    for target in targets:
        try:
            api.apply(target.path, target.manifest, force=force, dry_run=True, what=f"dry run {target.key}")
        except FieldConflictError as exc:
            raise PermanentProviderError(conflict_message(resource, exc)) from exc
        except PermanentProviderError as exc:
            problems.append(str(exc))
    if problems:
        refused = "; ".join(problems)
        raise PermanentProviderError(f"{resource}: the API server refuses the manifests (dry run): {refused}")
    applied = {}
    for target in targets:
        try:
            applied[target.key] = api.apply(target.path, target.manifest, force=force, what=f"apply {target.key}")
        except FieldConflictError as exc:
            raise PermanentProviderError(conflict_message(resource, exc)) from exc
    return applied


def object_path(obj: dict[str, Any], served: dict[str, str], kinds: dict[str, KindInfo]) -> str:
    """The REST path of a listed object."""
    kind = str(obj.get("kind"))
    meta = obj.get("metadata") or {}
    info = kinds[kind]
    version = str(obj.get("apiVersion") or served.get(kind) or info.api_version)
    namespace = meta.get("namespace") if info.namespaced else None
    return f"{collection_path(version, info.plural, namespace)}/{quoted(str(meta.get('name')))}"


def delete_objects(
    api: KubeApi, objects: list[dict[str, Any]], served: dict[str, str], extra: dict[str, KindInfo]
) -> list[str]:
    """Delete listed objects in reverse apply order (already gone counts as deleted); their Kind/name."""
    kinds = kind_table(extra)
    ordered = sorted(objects, key=lambda o: (-kinds[str(o.get("kind"))].order, object_key(o)))
    deleted = []
    for obj in ordered:
        with contextlib.suppress(NotFoundError):  # already gone is deleted
            api.delete(object_path(obj, served, kinds), what=f"delete {object_key(obj)}")
        deleted.append(object_key(obj))
    return deleted
