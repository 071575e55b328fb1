"""The docker provider's field vocabulary (pure): what a resource wants, and what an engine reports.

One homeport resource is one Compose project on one engine. Its fields:

| field | from the listing | from inspect | desired from |
|---|---|---|---|
| image | Image | | service.image |
| status | State of every container (running) | | replicas > 0 |
| health | Status "(healthy)" | State.Health.Status | service.healthcheck set |
| replicas | containers counted | | 1 (the chart runs one container per resource) |
| network_mode | HostConfig.NetworkMode | | overrides.docker.network_mode |
| volumes (keyed by name) | Mounts of type volume | | service.volumes |
| ports (keyed by "port/proto") | Ports with a public port | | service.ports (not for host/none networking) |
| command | | Config.Cmd | service.command |
| env (dict) | | Config.Env (secret keys masked) | service.env |
| restart | | HostConfig.RestartPolicy | service.restart |
| cpus | | HostConfig.NanoCpus | requirements.cpu |
| memory_mb | | HostConfig.Memory | requirements.memory_gb |
"""

from __future__ import annotations

from typing import Any

from reconciler.models.diffrules import DiffRules
from reconciler.models.effective import EffectiveResource
from reconciler.models.placement import Demand
from reconciler.providers.base import LAB_LABEL, OWNER_LABEL, OWNER_VALUE, RESOURCE_LABEL

COMPOSE_PROJECT_LABEL = "com.docker.compose.project"
COMPOSE_SERVICE_LABEL = "com.docker.compose.service"
COMPOSE_VOLUME_LABEL = "com.docker.compose.volume"
COMPOSE_NETWORK_LABEL = "com.docker.compose.network"
SECRET_ENV_LABEL = "homeport.secret-env"
REMOVE_VOLUMES_LABEL = "homeport.remove-volumes"
SECRET_MASK = "(secret)"

DETAIL_FIELDS = ("command", "env", "restart", "cpus", "memory_mb")
HOSTLESS_NETWORK_MODES = ("host", "none")

DIFF_RULES = DiffRules(
    keyed_lists={"ports": "published", "volumes": "name"},
    low_risk_fields=["labels", "labels.*"],
)



def project_name(lab: str, resource: str) -> str:
    """The Compose project of a resource: `<lab>-<resource>` (both DNS labels, so a valid project name)."""
    return f"{lab}-{resource}"


def docker_overrides(resource: EffectiveResource) -> dict[str, Any]:
    """The resource's docker overrides (EffectiveResource.overrides holds this provider type's only)."""
    return dict(resource.overrides)


def desired_network_mode(resource: EffectiveResource) -> str | None:
    """The network mode the resource asks for, when it names one."""
    overrides = docker_overrides(resource)
    if "network_mode" in overrides:
        value = overrides["network_mode"]
    else:
        value = resource.properties.get("network_mode")
    return str(value) if value else None


def desired_fields(resource: EffectiveResource) -> dict[str, Any]:
    """The fields observe() reports once the resource's compose project is up (no secret values)."""
    service = resource.service
    # The docker-compose chart runs one container per resource (a fixed container_name).
    replicas = 1 if resource.deployment.replicas > 0 else 0
    fields: dict[str, Any] = {"replicas": replicas, "restart": service.restart}
    if service.image:
        fields["image"] = service.image
    if replicas > 0:
        fields["status"] = "running"
        if service.healthcheck is not None:
            fields["health"] = "healthy"
    if service.command is not None:
        fields["command"] = list(service.command)
    if service.env:
        fields["env"] = dict(service.env)
    fields["volumes"] = [{"name": v.name, "path": v.path} for v in service.volumes]
    mode = desired_network_mode(resource)
    if mode:
        fields["network_mode"] = mode
    if mode not in HOSTLESS_NETWORK_MODES:
        fields["ports"] = [{"published": f"{p.port}/{p.protocol}", "target": p.target or p.port} for p in service.ports]
    if resource.requirements.cpu:
        fields["cpus"] = float(resource.requirements.cpu)
    if resource.requirements.memory_gb:
        fields["memory_mb"] = round(resource.requirements.memory_gb * 1024)
    return fields


def ownership_labels(lab: str, resource: str) -> dict[str, str]:
    """The labels that mark a container or volume as this lab's resource."""
    return {OWNER_LABEL: OWNER_VALUE, LAB_LABEL: lab, RESOURCE_LABEL: resource}


def container_demand(resource: EffectiveResource, fields: dict[str, Any]) -> Demand:
    """Pure: what a compose project allocates on its engine. Docker's cpus and memory are limits (a cap, not a
    reservation): a container without them reserves nothing, and the notes say so."""
    replicas = max(int(resource.deployment.replicas), 1)
    notes = []
    if not fields.get("cpus"):
        notes.append("cpu unset: a container without a cpu limit reserves no CPU")
    if not fields.get("memory_mb"):
        notes.append("memory unset: a container without a memory limit reserves no memory")
    return Demand(
        cpu=float(fields.get("cpus") or 0) * replicas,
        memory_gb=float(fields.get("memory_mb") or 0) / 1024 * replicas,
        gpus=resource.requirements.gpu_count,
        gpu_model=resource.requirements.gpu_model,
        notes=tuple(notes),
    )
