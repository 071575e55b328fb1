"""Pure parsers of Kubernetes API answers: quantities, managedFields, rollout status, nodes, conflicts.

Nothing here talks to a server; tests feed these recorded answers (tests/providers/kubernetes/cases/).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from reconciler.models.inventory import Gpu, NodeFacts

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "homeport"
LAB_LABEL = "homeport.lab"
RESOURCE_LABEL = "homeport.resource"


@dataclass(frozen=True)
class KindInfo:
    """Where a kind lives in the API."""

    api_version: str
    plural: str
    namespaced: bool = True
    order: int = 50  # apply order: namespaces and CRDs first, workloads after their config


# The kinds homeport's charts render, in apply order; other kinds are found through discovery.
KINDS: dict[str, KindInfo] = {
    "Namespace": KindInfo("v1", "namespaces", namespaced=False, order=0),
    "CustomResourceDefinition": KindInfo(
        "apiextensions.k8s.io/v1", "customresourcedefinitions", namespaced=False, order=1
    ),
    "ServiceAccount": KindInfo("v1", "serviceaccounts", order=10),
    "ConfigMap": KindInfo("v1", "configmaps", order=10),
    "Secret": KindInfo("v1", "secrets", order=10),
    "PersistentVolumeClaim": KindInfo("v1", "persistentvolumeclaims", order=20),
    "Deployment": KindInfo("apps/v1", "deployments", order=30),
    "StatefulSet": KindInfo("apps/v1", "statefulsets", order=30),
    "Service": KindInfo("v1", "services", order=40),
    "Ingress": KindInfo("networking.k8s.io/v1", "ingresses", order=40),
    "PodDisruptionBudget": KindInfo("policy/v1", "poddisruptionbudgets", order=45),
    "HorizontalPodAutoscaler": KindInfo("autoscaling/v2", "horizontalpodautoscalers", order=45),
}
# What observe lists: the namespaced kinds the kubernetes-workload chart renders (Namespaces and CRDs are
# never one resource's; a ServiceAccount is applied when a chart renders one, but not listed every cycle).
OBSERVED_KINDS = [k for k, info in KINDS.items() if info.namespaced and k != "ServiceAccount"]
WORKLOAD_KINDS = ("Deployment", "StatefulSet")


def collection_path(api_version: str, plural: str, namespace: str | None) -> str:
    """The REST path of a collection: /api/v1/namespaces/ns/configmaps, /apis/apps/v1/deployments ..."""
    base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    return f"{base}/namespaces/{namespace}/{plural}" if namespace else f"{base}/{plural}"


def owner_labels(lab: str, resource: str) -> dict[str, str]:
    """The labels that make an object one of this lab's resource's objects."""
    return {MANAGED_BY_LABEL: MANAGED_BY_VALUE, LAB_LABEL: lab, RESOURCE_LABEL: resource}


def lab_selector(lab: str) -> str:
    """Label selector of every object a lab manages."""
    return f"{MANAGED_BY_LABEL}={MANAGED_BY_VALUE},{LAB_LABEL}={lab}"


def resource_selector(lab: str, resource: str) -> str:
    """Label selector of one resource's objects."""
    return f"{lab_selector(lab)},{RESOURCE_LABEL}={resource}"


def object_key(obj: dict[str, Any]) -> str:
    """'Kind/name' of an object (its namespace is a field of its resource)."""
    return f"{obj.get('kind', '?')}/{(obj.get('metadata') or {}).get('name', '?')}"


# Quantities: https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")
_SUFFIX = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}


def quantity(value: Any) -> Decimal | None:
    """A Kubernetes quantity ('500m', '1Gi', 2) as a number; None when absent or not a quantity."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(str(value))
    match = _QUANTITY.match(str(value).strip())
    if not match:
        return None
    try:
        return Decimal(match.group(1)) * _SUFFIX[match.group(2) or ""]
    except InvalidOperation:
        return None


def cpu_cores(value: Any) -> float | None:
    """CPU cores in a quantity ('500m' -> 0.5)."""
    amount = quantity(value)
    return None if amount is None else round(float(amount), 3)


def mebibytes(value: Any) -> float | None:
    """MiB in a memory quantity ('1Gi' -> 1024.0)."""
    amount = quantity(value)
    return None if amount is None else round(float(amount) / 2**20, 3)


def fields_v1_paths(tree: dict[str, Any], prefix: str = "") -> set[str]:
    """Dotted paths of the leaves of a managedFields fieldsV1 tree ('f:spec': {'f:replicas': {}}).

    Keyed list items (`k:{"name":"web"}`, `v:...`) appear as `[key]`; the '.' entry (the map itself) is dropped.
    """
    paths: set[str] = set()
    for key, sub in tree.items():
        if key == ".":
            continue
        if key.startswith("f:"):
            path = f"{prefix}.{key[2:]}" if prefix else key[2:]
        elif key.startswith(("k:", "v:", "i:")):
            path = f"{prefix}[{key[2:]}]"
        else:
            continue
        children = fields_v1_paths(sub, path) if isinstance(sub, dict) and sub else set()
        paths |= children or {path}
    return paths


def field_owners_all(obj: dict[str, Any]) -> list[tuple[str, str]]:
    """(leaf path, field manager) for every manager of every leaf (a shared field appears once per manager)."""
    pairs: list[tuple[str, str]] = []
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        if entry.get("operation") == "Update" and entry.get("subresource") == "status":
            continue
        manager = str(entry.get("manager", "?"))
        pairs.extend((path, manager) for path in sorted(fields_v1_paths(entry.get("fieldsV1") or {})))
    return pairs


def field_owners(obj: dict[str, Any]) -> dict[str, str]:
    """Leaf path -> field manager, from an object's managedFields (the last listed owner wins)."""
    owners: dict[str, str] = {}
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        manager = str(entry.get("manager", "?"))
        if entry.get("operation") == "Update" and entry.get("subresource") == "status":
            continue
        for path in fields_v1_paths(entry.get("fieldsV1") or {}):
            owners[path] = manager
    return owners


def taken_fields(obj: dict[str, Any], watched: list[str], manager: str) -> list[str]:
    """Watched paths whose leaves another field manager now owns and `manager` none: `Kind/name:path (field
    manager X)`. For objects without a record of what homeport applied (ownership.py covers the rest)."""
    owners = field_owners(obj)
    out = []
    for prefix in sorted(watched):
        under = (prefix + ".", prefix + "[")
        inside = [(path, m) for path, m in owners.items() if path == prefix or path.startswith(under)]
        others = sorted({m for _, m in inside if m != manager})
        if others and not any(m == manager for _, m in inside):
            out.append(f"{object_key(obj)}:{prefix} (field manager {', '.join(others)})")
    return out


def conflict_fields(status: dict[str, Any]) -> list[str]:
    """'<field>: <message>' of each conflict in a 409 Status from server-side apply."""
    causes = (status.get("details") or {}).get("causes") or []
    out = []
    for cause in causes:
        if cause.get("reason") in ("FieldManagerConflict", None) or "conflict" in str(cause.get("message", "")):
            out.append(f"{cause.get('field', '?')}: {cause.get('message', '')}".strip())
    return out


def rollout_status(obj: dict[str, Any]) -> str:
    """healthy, progressing, degraded or unknown for a Deployment or StatefulSet.

    "unknown" when no controller has reported on the object (no status.observedGeneration): without a
    controller-manager nothing runs, and saying "healthy" would be a lie.
    """
    status = obj.get("status") or {}
    generation = (obj.get("metadata") or {}).get("generation") or 0
    observed = status.get("observedGeneration")
    if observed is None:
        return "unknown"
    if observed < generation:
        return "progressing"
    wanted = (obj.get("spec") or {}).get("replicas", 1)
    updated = status.get("updatedReplicas", 0) or 0
    ready = status.get("readyReplicas", 0) or 0
    available = status.get("availableReplicas", ready) or 0
    if wanted == 0:
        return "healthy"
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Progressing" and condition.get("reason") == "ProgressDeadlineExceeded":
            return "degraded"
    if updated < wanted or available < wanted:
        return "progressing"
    return "healthy"


def node_facts(node: dict[str, Any], provider: str, gpu_resource: str) -> NodeFacts:
    """A node's allocatable CPU, memory and GPUs, its readiness and labels."""
    meta = node.get("metadata") or {}
    status = node.get("status") or {}
    allocatable = status.get("allocatable") or {}
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
    )
    schedulable = not (node.get("spec") or {}).get("unschedulable", False)
    gpus = int(quantity(allocatable.get(gpu_resource)) or 0)
    name = str(meta.get("name", "?"))
    labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
    model = labels.get("nvidia.com/gpu.product", "")
    return NodeFacts(
        name=name,
        provider=provider,
        status="online" if ready and schedulable else ("cordoned" if ready else "offline"),
        cpu=cpu_cores(allocatable.get("cpu")) or 0.0,
        memory_gb=round((mebibytes(allocatable.get("memory")) or 0.0) / 1024, 3),
        storage_gb=round((mebibytes(allocatable.get("ephemeral-storage")) or 0.0) / 1024, 3),
        gpus=[
            Gpu(id=f"{name}/{gpu_resource}/{i}", model=model, vendor=gpu_resource.split("/")[0]) for i in range(gpus)
        ],
        labels=labels,
    )


def pod_requests(pod: dict[str, Any], gpu_resource: str) -> tuple[str | None, float, float, int]:
    """(node, cpu cores, memory GiB, GPUs) a scheduled, unfinished pod requests."""
    spec = pod.get("spec") or {}
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        return None, 0.0, 0.0, 0
    cpu = mem = 0.0
    gpus = 0
    for container in spec.get("containers") or []:
        resources = container.get("resources") or {}
        requests = resources.get("requests") or {}
        limits = resources.get("limits") or {}
        cpu += cpu_cores(requests.get("cpu")) or 0.0
        mem += (mebibytes(requests.get("memory")) or 0.0) / 1024
        gpus += int(quantity(limits.get(gpu_resource) or requests.get(gpu_resource)) or 0)
    return spec.get("nodeName"), cpu, mem, gpus
