"""Read-only: a lab's objects (one list per kind, per namespace or cluster-wide), nodes and capacity."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from reconciler.models.inventory import NodeFacts, ObservedResource
from reconciler.providers.errors import PermanentProviderError
from reconciler.providers.kubernetes.api import KubeApi
from reconciler.providers.kubernetes.errors import NotFoundError
from reconciler.providers.kubernetes.facts import (
    KINDS,
    LAB_LABEL,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    OBSERVED_KINDS,
    RESOURCE_LABEL,
    KindInfo,
    collection_path,
    lab_selector,
    node_facts,
    pod_requests,
    rollout_status,
)
from reconciler.providers.kubernetes.fields import observed_fields, resource_status


@dataclass
class Observation:
    """What one observe read: objects per resource, nodes, kinds the server does not serve."""

    objects: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    nodes: list[NodeFacts] = field(default_factory=list)
    missing_kinds: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def list_kind(
    api: KubeApi, kind: str, info: KindInfo, api_version: str, namespaces: list[str], selector: str
) -> list[dict[str, Any]]:
    """Every object of a kind matching the selector: one list per namespace, or one cluster-wide."""
    out: list[dict[str, Any]] = []
    for namespace in namespaces or [None]:  # type: ignore[list-item]
        path = collection_path(api_version, info.plural, namespace)
        out.extend(api.list_all(path, selector, what=f"list {kind} in {namespace or 'all namespaces'}"))
    return out


# Older group/versions a kind may be served under (a 1.20 server has no policy/v1 or autoscaling/v2).
FALLBACK_VERSIONS = {
    "PodDisruptionBudget": ["policy/v1beta1"],
    "HorizontalPodAutoscaler": ["autoscaling/v2beta2", "autoscaling/v1"],
}


def observe_objects(
    api: KubeApi, lab: str, namespaces: list[str], served: dict[str, str], extra: dict[str, KindInfo] | None = None
) -> Observation:
    """The lab's objects grouped by resource name; kinds the server lacks are noted, not fatal.

    `extra`: kinds beyond the chart's that homeport applied for this lab before (custom resources).
    """
    obs = Observation()
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    selector = lab_selector(lab)
    kinds = {**{k: KINDS[k] for k in OBSERVED_KINDS}, **(extra or {})}
    for kind, info in kinds.items():
        versions = [served.get(kind, info.api_version)]
        versions += [v for v in FALLBACK_VERSIONS.get(kind, []) if v not in versions]
        for version in versions:
            try:
                items = list_kind(api, kind, info, version, namespaces, selector)
            except NotFoundError:
                continue
            served[kind] = version
            break
        else:
            obs.missing_kinds.append(kind)
            continue
        for item in items:
            if kind == "Secret":
                # Values stay in the cluster: never in the inventory, snapshots or logs.
                item.pop("data", None)
                item.pop("stringData", None)
            labels = (item.get("metadata") or {}).get("labels") or {}
            if labels.get(LAB_LABEL) == lab and labels.get(RESOURCE_LABEL):
                grouped[labels[RESOURCE_LABEL]].append(item)
    obs.objects = dict(grouped)
    return obs


def observed_resources(
    provider: str,
    lab: str,
    objects: dict[str, list[dict[str, Any]]],
    gpu_resource: str,
    applied: dict[str, dict[str, Any]] | None = None,
) -> list[ObservedResource]:
    """One ObservedResource per resource label value; `applied`: resource -> what homeport's last apply owned."""
    out = []
    for name, items in sorted(objects.items()):
        fields = observed_fields(name, items, gpu_resource, (applied or {}).get(name))
        workload = next((o for o in items if o.get("kind") in ("Deployment", "StatefulSet")), items[0])
        meta = workload.get("metadata") or {}
        out.append(
            ObservedResource(
                name=name,
                provider=provider,
                kind=str(workload.get("kind", "object")).lower(),
                id=f"{meta.get('namespace', '')}/{meta.get('name', name)}",
                node=None,
                owned=True,
                lab=lab,
                status=resource_status(fields),
                fields=fields,
            )
        )
    return out


def unmanaged_workloads(api: KubeApi, lab: str, namespaces: list[str], provider: str) -> list[ObservedResource]:
    """Deployments and StatefulSets this lab does not manage (reported, never touched): one list each."""
    out = []
    for kind in ("Deployment", "StatefulSet"):
        for item in list_kind(api, kind, KINDS[kind], KINDS[kind].api_version, namespaces, ""):
            meta = item.get("metadata") or {}
            labels = meta.get("labels") or {}
            if labels.get(LAB_LABEL) == lab and labels.get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE:
                continue
            other = labels.get(LAB_LABEL) if labels.get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE else None
            out.append(
                ObservedResource(
                    name=f"{meta.get('namespace')}/{meta.get('name')}",
                    provider=provider,
                    kind=kind.lower(),
                    id=f"{meta.get('namespace')}/{meta.get('name')}",
                    owned=other is not None,
                    lab=other,
                    status=rollout_status(item),
                )
            )
    return sorted(out, key=lambda r: r.name)


def observe_nodes(api: KubeApi, provider: str, gpu_resource: str) -> list[NodeFacts]:
    """Nodes with allocatable CPU/memory/GPUs, and what scheduled pods request of them (two lists)."""
    try:
        answer = api.list_all("/api/v1/nodes", "", what="list nodes")
    except NotFoundError:
        return []
    nodes = {n.name: n for n in (node_facts(item, provider, gpu_resource) for item in answer)}
    if not nodes:
        return []
    pods = api.list_all("/api/v1/pods", "", what="list pods")
    gpu_use: dict[str, int] = defaultdict(int)
    for pod in pods:
        node, cpu, memory, gpus = pod_requests(pod, gpu_resource)
        if node in nodes:
            # requests are what the scheduler reserves: allocation in the capacity model (usage is not read)
            nodes[node].cpu_allocated = round(nodes[node].cpu_allocated + cpu, 3)
            nodes[node].memory_allocated_gb = round(nodes[node].memory_allocated_gb + memory, 3)
            nodes[node].guests += 1
            gpu_use[node] += gpus
    for name, count in gpu_use.items():
        for gpu in nodes[name].gpus[:count]:
            gpu.in_use_by = "pods"
    return [nodes[name] for name in sorted(nodes)]


def server_version(api: KubeApi) -> str:
    """The API server's gitVersion; raises when it cannot be reached."""
    answer = api.get("/version", what="API server version")
    version = answer.get("gitVersion")
    if not version:
        raise PermanentProviderError("the endpoint answered /version without a gitVersion: is it a Kubernetes API?")
    return str(version)
