"""The Kubernetes provider's field vocabulary (pure): what a resource wants and what its objects show.

One homeport resource is the set of objects carrying its labels (`app.kubernetes.io/managed-by:
homeport`, `homeport.lab`, `homeport.resource`), as the kubernetes-workload chart renders them.

| field | observed from | desired from |
|---|---|---|
| namespace | the workload's namespace | values.namespace (pool properties, overrides) |
| workload | Deployment or StatefulSet | stateful |
| objects (set) | Kind/name of every labelled object | what the chart renders for the resource |
| replicas | workload spec.replicas | deployment.replicas (absent with high_availability: the HPA owns it) |
| image | the resource's container | service.image |
| cpu, memory_mb, gpu | its requests (cpu, memory) and GPU limit | requirements |
| env | ConfigMap `<name>-env` data | service.env |
| ports (keyed by name) | the Service's ports | service.ports |
| service_type | the Service's type | values.service_type (LoadBalancer with HA and no ingress host) |
| autoscaling | the HPA's min/max replicas | high_availability |
| taken (set) | every field homeport applied that another field manager has changed since (managedFields) | none |

`taken` covers every object of the resource and every field homeport's own server-side apply owns
(ownership.py): `Ingress/web:spec.rules[0].host = "other.lan" (field manager ops)`. The other
fields are compared as named here; values the API server defaults, or a controller or a webhook
fills, are in neither, so they never count as drift.
"""

from __future__ import annotations

from typing import Any

from reconciler.models.diffrules import DiffRules
from reconciler.models.effective import EffectiveResource
from reconciler.models.resource import Port
from reconciler.providers.kubernetes.facts import (
    WORKLOAD_KINDS,
    cpu_cores,
    mebibytes,
    object_key,
    quantity,
    rollout_status,
    taken_fields,
)
from reconciler.providers.kubernetes.ownership import Leaf, changed_fields
from reconciler.providers.kubernetes.settings import FIELD_MANAGER

DIFF_RULES = DiffRules(
    keyed_lists={"ports": "name"},
    set_fields=["objects", "taken"],
    low_risk_fields=["labels", "labels.*", "env", "env.*", "taken", "autoscaling", "autoscaling.*"],
    grow_only_fields=[],
    high_risk_fields=["gpu", "workload", "namespace"],
    replace_fields=["namespace", "workload"],
    # A new pod template rolls the pods (env comes from a ConfigMap: pods read it when they start).
    restart_fields=["image", "cpu", "memory_mb", "gpu"],
)

# Chart value defaults (charts/kubernetes-workload/values.yaml) the vocabulary depends on.
CHART_DEFAULTS: dict[str, Any] = {
    "namespace": "default",
    "service_type": "ClusterIP",
    "ingress_class": None,
    "ingress_host": None,
    "gpu_resource": "nvidia.com/gpu",
    "ha_replicas": 3,
    "ha_max_replicas": 10,
}


def chart_values(resource: EffectiveResource) -> dict[str, Any]:
    """The chart values the vocabulary needs: defaults < pool properties/template variables < overrides."""
    values = dict(CHART_DEFAULTS)
    for layer in (resource.properties, resource.overrides):
        values.update({k: v for k, v in layer.items() if k in CHART_DEFAULTS})
    return values


def ha_replicas(resource: EffectiveResource, values: dict[str, Any]) -> tuple[int, int]:
    """(minimum, maximum) replicas of a high-availability resource."""
    low = max(int(resource.deployment.replicas), int(values["ha_replicas"]))
    return low, max(low, int(values["ha_max_replicas"]))


def http_port(resource: EffectiveResource) -> Port | None:
    """The port an Ingress routes to: the one named http, else the first."""
    ports = resource.service.ports
    named = [p for p in ports if p.name == "http"]
    return (named or ports)[0] if ports else None


def rendered_objects(resource: EffectiveResource, values: dict[str, Any]) -> list[str]:
    """Kind/name of each object the kubernetes-workload chart renders for the resource."""
    name = resource.name
    service = resource.service
    ha = resource.requirements.high_availability
    objects = [f"{'StatefulSet' if resource.stateful else 'Deployment'}/{name}"]
    if service.env:
        objects.append(f"ConfigMap/{name}-env")
    if service.secret_env:
        objects.append(f"Secret/{name}-secrets")
    if not resource.stateful:
        objects.extend(f"PersistentVolumeClaim/{name}-{v.name}" for v in service.volumes)
    port = http_port(resource)
    if service.ports:
        objects.append(f"Service/{name}")
        ingress = values.get("ingress_host") if ha else (values.get("ingress_class") or values.get("ingress_host"))
        if ingress and port is not None and port.protocol == "tcp":
            objects.append(f"Ingress/{name}")
    if ha:
        objects.extend([f"PodDisruptionBudget/{name}", f"HorizontalPodAutoscaler/{name}"])
    return sorted(objects)


def desired_fields(resource: EffectiveResource) -> dict[str, Any]:
    """The fields observe() reports once the resource's manifests are applied (no secret values)."""
    values = chart_values(resource)
    req = resource.requirements
    service = resource.service
    fields: dict[str, Any] = {
        "namespace": str(values["namespace"]),
        "workload": "StatefulSet" if resource.stateful else "Deployment",
        "objects": rendered_objects(resource, values),
        "cpu": float(req.cpu or 1),
        "memory_mb": round(float(req.memory_gb or 0.5) * 1024),
    }
    if service.image:
        fields["image"] = service.image
    if req.gpu_count:
        fields["gpu"] = req.gpu_count
    if req.high_availability:
        low, high = ha_replicas(resource, values)
        fields["autoscaling"] = {"min_replicas": low, "max_replicas": high}
    else:
        fields["replicas"] = resource.deployment.replicas
    if service.env:
        fields["env"] = {k: str(v) for k, v in service.env.items()}
    if service.ports:
        fields["ports"] = [
            {"name": p.name[:15], "port": p.port, "target": p.target or p.port, "protocol": p.protocol.upper()}
            for p in service.ports
        ]
        service_type = str(values["service_type"])
        if req.high_availability and not values.get("ingress_host"):
            service_type = "LoadBalancer"
        fields["service_type"] = service_type
    fields["taken"] = []  # last, so a plan lists the changed value before who changed it
    return fields


# Objects applied before homeport recorded what it owns (no record): these fields are watched for
# another field manager taking them, as managedFields paths.
LEGACY_WATCH = {
    "Deployment": ["spec.replicas", "spec.template.spec.containers"],
    "StatefulSet": ["spec.replicas", "spec.template.spec.containers"],
    "Service": ["spec.ports", "spec.type"],
    "ConfigMap": ["data"],
}
REPLICAS: Leaf = ("f:spec", "f:replicas")


def object_taken(obj: dict[str, Any], record: dict[str, Any] | None, autoscaled: bool) -> list[str]:
    """Fields of one object homeport applied that another field manager has changed (see ownership.py)."""
    if record is not None:
        return changed_fields(obj, record, {REPLICAS} if autoscaled else set())
    watch = [p for p in LEGACY_WATCH.get(str(obj.get("kind")), []) if not (autoscaled and p == "spec.replicas")]
    return taken_fields(obj, watch, FIELD_MANAGER)


def _container(workload: dict[str, Any], name: str) -> dict[str, Any]:
    containers = ((workload.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []
    named = [c for c in containers if c.get("name") == name]
    first: dict[str, Any] = (named or containers or [{}])[0]
    return first


def observed_fields(
    name: str, objects: list[dict[str, Any]], gpu_resource: str, applied: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One resource's fields from its labelled objects (any namespace; the workload's decides).

    `applied`: Kind/name -> what homeport's last apply owned in it (ownership.applied_record).
    """
    by_key = {object_key(o): o for o in objects}
    fields: dict[str, Any] = {"objects": sorted(by_key)}
    # With an autoscaler, the workload's replicas are its to change.
    autoscaled = f"HorizontalPodAutoscaler/{name}" in by_key
    changed: list[str] = []
    for key, obj in sorted(by_key.items()):
        changed += object_taken(obj, (applied or {}).get(key), autoscaled and obj.get("kind") in WORKLOAD_KINDS)
    workload = next((o for o in objects if o.get("kind") in WORKLOAD_KINDS), None)
    if workload is not None:
        spec = workload.get("spec") or {}
        fields["namespace"] = (workload.get("metadata") or {}).get("namespace")
        fields["workload"] = workload.get("kind")
        if "replicas" in spec:
            fields["replicas"] = spec["replicas"]
        container = _container(workload, name)
        resources = container.get("resources") or {}
        requests = resources.get("requests") or {}
        limits = resources.get("limits") or {}
        if container.get("image"):
            fields["image"] = container["image"]
        cpu = cpu_cores(requests.get("cpu"))
        if cpu is not None:
            fields["cpu"] = cpu
        memory = mebibytes(requests.get("memory"))
        if memory is not None:
            fields["memory_mb"] = round(memory)
        gpus = quantity(limits.get(gpu_resource))
        if gpus:
            fields["gpu"] = int(gpus)
        fields["health"] = rollout_status(workload)
    else:
        fields["namespace"] = next(((o.get("metadata") or {}).get("namespace") for o in objects), None)
    config_map = by_key.get(f"ConfigMap/{name}-env")
    if config_map is not None:
        fields["env"] = {str(k): str(v) for k, v in (config_map.get("data") or {}).items()}
    service = by_key.get(f"Service/{name}")
    if service is not None:
        spec = service.get("spec") or {}
        fields["service_type"] = spec.get("type", "ClusterIP")
        fields["ports"] = [
            {
                "name": p.get("name", ""),
                "port": p.get("port"),
                "target": p.get("targetPort", p.get("port")),
                "protocol": p.get("protocol", "TCP"),
            }
            for p in spec.get("ports") or []
        ]
    hpa = by_key.get(f"HorizontalPodAutoscaler/{name}")
    if hpa is not None:
        spec = hpa.get("spec") or {}
        fields["autoscaling"] = {"min_replicas": spec.get("minReplicas", 1), "max_replicas": spec.get("maxReplicas")}
    fields["taken"] = sorted(changed)
    return fields


def resource_status(fields: dict[str, Any]) -> str:
    """One word for a resource: its workload's rollout status, or 'absent' without a workload."""
    if "workload" not in fields:
        return "absent"
    return str(fields.get("health", "unknown"))
