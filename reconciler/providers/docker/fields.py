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

import hashlib
import json
import re
from collections import Counter
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

_HEALTH = re.compile(r"\((healthy|unhealthy|health: starting)\)")


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


def health_from_status(status: str) -> str:
    """healthy, unhealthy, starting or none, from a listing's Status text ('Up 3 minutes (healthy)')."""
    match = _HEALTH.search(status or "")
    if not match:
        return "none"
    return "starting" if match.group(1) == "health: starting" else match.group(1)


def container_name(summary: dict[str, Any]) -> str:
    """A listing summary's container name, without the leading slash."""
    names = summary.get("Names") or [summary.get("Id", "")[:12]]
    return str(names[0]).lstrip("/")


def summary_fields(summary: dict[str, Any]) -> dict[str, Any]:
    """Fields a container listing entry decides by itself."""
    labels = summary.get("Labels") or {}
    project = labels.get(COMPOSE_PROJECT_LABEL, "")
    volumes = []
    for mount in summary.get("Mounts") or []:
        if mount.get("Type") != "volume":
            continue
        name = str(mount.get("Name", ""))
        if project and name.startswith(project + "_"):
            name = name[len(project) + 1 :]
        volumes.append({"name": name, "path": mount.get("Destination", "")})
    ports = {}
    for port in summary.get("Ports") or []:
        if port.get("PublicPort"):
            key = f"{port['PublicPort']}/{port.get('Type', 'tcp')}"
            ports[key] = {"published": key, "target": port.get("PrivatePort")}
    return {
        "image": summary.get("Image", ""),
        "status": summary.get("State", "unknown"),
        "health": health_from_status(summary.get("Status", "")),
        "network_mode": (summary.get("HostConfig") or {}).get("NetworkMode", ""),
        "volumes": sorted(volumes, key=lambda v: v["name"]),
        "ports": [ports[k] for k in sorted(ports)],
    }


def secret_keys(labels: dict[str, str]) -> set[str]:
    """Environment variable names whose values are secrets (from the label apply sets)."""
    return {k for k in (labels.get(SECRET_ENV_LABEL) or "").split(",") if k}


def detail_fields(inspect: dict[str, Any]) -> dict[str, Any]:
    """Fields only a container inspect shows; secret environment values are masked here, at the edge."""
    config = inspect.get("Config") or {}
    host = inspect.get("HostConfig") or {}
    secrets = secret_keys(config.get("Labels") or {})
    env: dict[str, str] = {}
    for item in config.get("Env") or []:
        key, _, value = str(item).partition("=")
        env[key] = SECRET_MASK if key in secrets else value
    nano = host.get("NanoCpus") or 0
    if nano:
        cpus = nano / 1e9
    elif host.get("CpuQuota") and host.get("CpuPeriod"):
        cpus = host["CpuQuota"] / host["CpuPeriod"]
    else:
        cpus = 0.0
    restart = (host.get("RestartPolicy") or {}).get("Name") or "no"
    return {
        "command": list(config.get("Cmd") or []),
        "env": env,
        "restart": restart,
        "cpus": round(float(cpus), 3),
        "memory_mb": int(host.get("Memory") or 0) // (1024 * 1024),
    }


def summary_fingerprint(summary: dict[str, Any]) -> str:
    """A digest of everything in a listing entry that tells a container changed (not its uptime)."""
    stable = {
        "id": summary.get("Id"),
        "image": summary.get("Image"),
        "image_id": summary.get("ImageID"),
        "command": summary.get("Command"),
        "state": summary.get("State"),
        "health": health_from_status(summary.get("Status", "")),
        "labels": summary.get("Labels") or {},
        "mounts": [(m.get("Name"), m.get("Destination")) for m in summary.get("Mounts") or []],
    }
    return hashlib.sha256(json.dumps(stable, sort_keys=True).encode()).hexdigest()[:32]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def merge_containers(per_container: list[dict[str, Any]]) -> dict[str, Any]:
    """One resource's fields from its containers: a value all agree on, else the odd one out (drift shows)."""
    merged: dict[str, Any] = {"replicas": len(per_container)}
    keys = sorted({k for fields in per_container for k in fields})
    for key in keys:
        values = [fields[key] for fields in per_container if key in fields]
        counts = Counter(_canonical(v) for v in values)
        if len(counts) == 1:
            merged[key] = values[0]
            continue
        rarest = min(counts.items(), key=lambda item: (item[1], item[0]))[0]
        merged[key] = next(v for v in values if _canonical(v) == rarest)
    return merged


def resource_status(fields: dict[str, Any]) -> str:
    """One word for the resource: running, unhealthy, starting, stopped, or the containers' state."""
    if fields.get("replicas", 0) == 0:
        return "absent"
    status = str(fields.get("status", "unknown"))
    if status != "running":
        return "stopped" if status in ("exited", "created") else status
    health = fields.get("health")
    if health in ("unhealthy", "starting"):
        return str(health)
    return "running"


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
