"""Pure: a Docker engine's answers (info, container listings and inspects) as node facts and observed fields,
in the vocabulary of fields.desired_fields(); table-tested from recorded answers (tests/providers/docker/cases/)."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from reconciler.models.inventory import Gpu, NodeFacts, ObservedResource
from reconciler.providers.base import LAB_LABEL, OWNER_LABEL, OWNER_VALUE, RESOURCE_LABEL
from reconciler.providers.docker.fields import (
    COMPOSE_PROJECT_LABEL,
    SECRET_ENV_LABEL,
    SECRET_MASK,
)

GIB = 1024**3
_HEALTH = re.compile(r"\((healthy|unhealthy|health: starting)\)")


def engine_gpus(info: dict[str, Any], declared: list[tuple[str, str]]) -> list[Gpu]:
    """The engine's GPUs: those the lab declares (id, model), then any GPU device `docker info` discovered through
    CDI (`DiscoveredDevices`, Docker 28+: `nvidia.com/gpu=0`) that is not declared already (a declared id "0" is
    NVIDIA's device 0, the id `docker run --gpus device=0` uses)."""
    gpus = [Gpu(id=gpu_id, model=model, vendor="nvidia" if model else "") for gpu_id, model in declared]
    known = {g.id for g in gpus}
    for device in info.get("DiscoveredDevices") or []:
        name = str((device or {}).get("ID") or "")
        kind, _, index = name.partition("=")
        declared_already = name in known or (kind == "nvidia.com/gpu" and index in known)  # "0" is nvidia's 0
        if (device or {}).get("Source") == "cdi" and kind.endswith("/gpu") and index not in ("", "all") \
                and not declared_already:
            gpus.append(Gpu(id=name, vendor=kind.split(".")[0]))
            known.add(name)
    return gpus


def node_facts(provider: str, node: str, info: dict[str, Any], gpus: list[Gpu] | None = None) -> NodeFacts:
    """A node's capacity from `docker info` (NCPU, MemTotal), with the engine's GPUs."""
    labels = {}
    for item in info.get("Labels") or []:
        key, _, value = str(item).partition("=")
        labels[key] = value
    labels["docker.version"] = str(info.get("ServerVersion", ""))
    return NodeFacts(
        name=node,
        provider=provider,
        status="online",
        cpu=float(info.get("NCPU") or 0),
        memory_gb=round(float(info.get("MemTotal") or 0) / GIB, 2),
        gpus=gpus or [],
        labels=labels,
    )


def is_homeport(labels: dict[str, str]) -> bool:
    """Whether labels carry homeport's ownership marker."""
    return labels.get(OWNER_LABEL) == OWNER_VALUE and bool(labels.get(RESOURCE_LABEL))


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
    gpu_count, gpu_ids = gpu_requests(host)
    return {
        "command": list(config.get("Cmd") or []),
        "env": env,
        "restart": restart,
        "cpus": round(float(cpus), 3),
        "memory_mb": int(host.get("Memory") or 0) // (1024 * 1024),
        "gpu_requests": {"name": str(inspect.get("Name") or "").lstrip("/"), "count": gpu_count, "ids": gpu_ids},
    }


def gpu_requests(host: dict[str, Any]) -> tuple[int, list[str]]:
    """(count, device ids) of the GPUs a container's HostConfig.DeviceRequests ask for; count -1 means all."""
    count, ids = 0, list[str]()
    for request in host.get("DeviceRequests") or []:
        capabilities = [c for group in request.get("Capabilities") or [] for c in group or []]
        if "gpu" not in capabilities and not str(request.get("Driver") or "").startswith("nvidia"):
            continue
        if request.get("DeviceIDs"):
            ids.extend(str(i) for i in request["DeviceIDs"])
        elif request.get("Count") == -1:
            count = -1
        elif count != -1:
            count += int(request.get("Count") or 0)
    return count, ids


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


DEFAULT_NETWORKS = ("bridge", "host", "none")


@dataclass
class Listing:
    """One engine's container listing sorted out: homeport's containers by (lab, resource), the others, the
    compose projects homeport owns and the volumes some container mounts."""

    owned: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    unmanaged: list[dict[str, Any]] = field(default_factory=list)
    owned_projects: set[str] = field(default_factory=set)
    used_volumes: set[str] = field(default_factory=set)


def sort_listing(listing: list[dict[str, Any]]) -> Listing:
    """Sort a container listing (GET /containers/json?all=1) into homeport's and the others."""
    out = Listing()
    for summary in listing:
        labels = summary.get("Labels") or {}
        for mount in summary.get("Mounts") or []:
            if mount.get("Type") == "volume" and mount.get("Name"):
                out.used_volumes.add(str(mount["Name"]))
        if is_homeport(labels):
            out.owned.setdefault((labels.get(LAB_LABEL, ""), labels[RESOURCE_LABEL]), []).append(summary)
            if labels.get(COMPOSE_PROJECT_LABEL):
                out.owned_projects.add(labels[COMPOSE_PROJECT_LABEL])
        else:
            out.unmanaged.append(summary)
    return out


def unmanaged_container(provider: str, node: str, summary: dict[str, Any]) -> ObservedResource:
    """A container homeport did not make: reported, never touched."""
    return ObservedResource(
        name=container_name(summary),
        provider=provider,
        kind="container",
        id=summary.get("Id"),
        node=node,
        owned=False,
        status=str(summary.get("State", "unknown")),
        fields={"image": summary.get("Image", ""), "status": summary.get("State", "unknown")},
    )


def count_limits(facts: NodeFacts, details: list[dict[str, Any]]) -> None:
    """Add running containers' cpu and memory limits (inspected details) to the node's allocation. A limit is what
    a container may take; an unset limit reserves nothing (Docker's cpus is a cap, not a reservation)."""
    for detail in details:
        facts.cpu_allocated += float(detail.get("cpus") or 0)
        facts.memory_allocated_gb += float(detail.get("memory_mb") or 0) / 1024
        facts.guests += 1
    for detail in details:  # GPUs named by id first, then those asked by count take the free ones in order
        wanted = detail.get("gpu_requests") or {}
        for gpu in facts.gpus:
            if gpu.in_use_by is None and (gpu.id in wanted.get("ids", []) or
                                          gpu.id.rpartition("=")[2] in wanted.get("ids", [])):
                gpu.in_use_by = wanted.get("name") or "a container"
    for detail in details:
        wanted = detail.get("gpu_requests") or {}
        count = int(wanted.get("count") or 0)
        for gpu in facts.gpus:
            if count == 0:
                break
            if gpu.in_use_by is None:
                gpu.in_use_by = wanted.get("name") or "a container"
                count -= 1


def other_volumes(provider: str, node: str, volumes: list[dict[str, Any]], listed: Listing) -> list[ObservedResource]:
    """Volumes that are not the mounted data of a homeport project: data a deleted resource left behind on
    purpose (retained, never touched) and volumes homeport never made."""
    out = []
    for volume in volumes:
        labels = volume.get("Labels") or {}
        name = str(volume.get("Name", ""))
        mine = is_homeport(labels) or labels.get(COMPOSE_PROJECT_LABEL) in listed.owned_projects
        if name in listed.used_volumes and mine:
            continue
        if is_homeport(labels):
            out.append(
                ObservedResource(
                    name=name,
                    provider=provider,
                    kind="volume",
                    node=node,
                    owned=False,
                    lab=labels.get(LAB_LABEL),
                    status="retained",
                    fields={"resource": labels[RESOURCE_LABEL]},
                )
            )
            continue
        out.append(
            ObservedResource(
                name=name,
                provider=provider,
                kind="volume",
                node=node,
                owned=False,
                status="in-use" if name in listed.used_volumes else "unused",
                fields={"driver": volume.get("Driver", "")},
            )
        )
    return out


def other_networks(provider: str, node: str, networks: list[dict[str, Any]], listed: Listing) -> list[ObservedResource]:
    """Networks that are neither Docker's defaults nor a homeport project's own."""
    out = []
    for network in networks:
        labels = network.get("Labels") or {}
        name = str(network.get("Name", ""))
        if name in DEFAULT_NETWORKS or labels.get(COMPOSE_PROJECT_LABEL) in listed.owned_projects:
            continue
        out.append(
            ObservedResource(
                name=name,
                provider=provider,
                kind="network",
                id=network.get("Id"),
                node=node,
                owned=False,
                status="present",
                fields={"driver": network.get("Driver", "")},
            )
        )
    return out
