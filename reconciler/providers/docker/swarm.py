"""Pure: a swarm manager's answers (nodes, services, tasks) as node facts and observed fields, and what a resource
wants on a swarm (docker provider options.mode: swarm). One resource is one stack `<lab>-<resource>` with one
service; the swarm is one node to homeport's placement (the swarm schedules the tasks on its own nodes).

| field | from the service / its tasks | desired from |
|---|---|---|
| image | Spec.TaskTemplate.ContainerSpec.Image (digest dropped) | service.image |
| replicas | tasks running now | deployment.replicas; with high_availability ha_replicas (3) or more |
| status | running when every replica runs, else degraded / stopped | replicas > 0 |
| command | ContainerSpec.Args | service.command |
| env | ContainerSpec.Env (secret keys masked) | service.env |
| restart | TaskTemplate.RestartPolicy.Condition | service.restart (no: none, on-failure, else any) |
| cpus, memory_mb | TaskTemplate.Resources.Limits | requirements.cpu, memory_gb |
| ports | Spec.EndpointSpec.Ports | service.ports (not on the host/none network) |
| volumes | ContainerSpec.Mounts of type volume | service.volumes |
"""

from __future__ import annotations

from typing import Any

from reconciler.models.effective import EffectiveResource
from reconciler.models.inventory import NodeFacts, ObservedResource
from reconciler.models.placement import Demand
from reconciler.providers.base import LAB_LABEL, RESOURCE_LABEL
from reconciler.providers.docker.facts import GIB, is_homeport, secret_keys
from reconciler.providers.docker.fields import HOSTLESS_NETWORK_MODES, SECRET_MASK, desired_network_mode

STACK_LABEL = "com.docker.stack.namespace"
DEFAULT_HA_REPLICAS = 3  # the chart's ha_replicas default, as on Kubernetes
RESTART_CONDITIONS = {"no": "none", "always": "any", "unless-stopped": "any", "on-failure": "on-failure"}
STACK_FILE = "docker-stack.yaml"


def swarm_replicas(resource: EffectiveResource) -> int:
    """The service's replicas: deployment.replicas; with high_availability ha_replicas (3) or more."""
    if not resource.requirements.high_availability:
        return int(resource.deployment.replicas)
    chosen = resource.overrides.get("ha_replicas", resource.properties.get("ha_replicas", DEFAULT_HA_REPLICAS))
    return max(int(chosen), int(resource.deployment.replicas))


def swarm_desired_fields(resource: EffectiveResource) -> dict[str, Any]:
    """The fields observe() reports once the resource's stack has converged (no secret values)."""
    service = resource.service
    replicas = swarm_replicas(resource)
    fields: dict[str, Any] = {
        "replicas": replicas,
        "restart": RESTART_CONDITIONS.get(service.restart, "any"),
        "volumes": [{"name": v.name, "path": v.path} for v in service.volumes],
    }
    if service.image:
        fields["image"] = service.image
    if replicas > 0:
        fields["status"] = "running"
    if service.command is not None:
        fields["command"] = list(service.command)
    if service.env:
        fields["env"] = dict(service.env)
    if desired_network_mode(resource) not in HOSTLESS_NETWORK_MODES:
        fields["ports"] = [{"published": f"{p.port}/{p.protocol}", "target": p.target or p.port} for p in service.ports]
    if resource.requirements.cpu:
        fields["cpus"] = float(resource.requirements.cpu)
    if resource.requirements.memory_gb:
        fields["memory_mb"] = round(resource.requirements.memory_gb * 1024)
    return fields


def swarm_demand(resource: EffectiveResource, fields: dict[str, Any]) -> Demand:
    """What a stack asks of the swarm: its limits times its replicas (a limit is a cap; none reserves nothing)."""
    replicas = max(swarm_replicas(resource), 1)
    notes = []
    if not fields.get("cpus"):
        notes.append("cpu unset: a swarm task without a cpu limit reserves no CPU")
    if not fields.get("memory_mb"):
        notes.append("memory unset: a swarm task without a memory limit reserves no memory")
    return Demand(
        cpu=float(fields.get("cpus") or 0) * replicas,
        memory_gb=float(fields.get("memory_mb") or 0) / 1024 * replicas,
        gpus=resource.requirements.gpu_count,
        gpu_model=resource.requirements.gpu_model,
        notes=tuple(notes),
    )


def _spec_replicas(service: dict[str, Any]) -> int:
    mode = (service.get("Spec") or {}).get("Mode") or {}
    return int((mode.get("Replicated") or {}).get("Replicas") or 0)


def running_tasks(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tasks that run now and are meant to (not the ones being shut down)."""
    return [
        t for t in tasks if (t.get("Status") or {}).get("State") == "running" and t.get("DesiredState") == "running"
    ]


def task_problems(tasks: list[dict[str, Any]]) -> list[str]:
    """What the swarm says about tasks that failed or cannot be scheduled, newest first, without repeats."""
    out: list[str] = []
    for task in sorted(tasks, key=lambda t: str(t.get("UpdatedAt", "")), reverse=True):
        status = task.get("Status") or {}
        state = status.get("State", "")
        message = status.get("Err") or (status.get("Message") if state == "pending" else "")
        if state in ("failed", "rejected", "pending") and message:
            text = f"task {task.get('Slot', '?')} {state}: {message}"
            if text not in out:
                out.append(text)
    return out[:3]


def service_fields(service: dict[str, Any], tasks: list[dict[str, Any]], stack: str) -> dict[str, Any]:
    """One stack service's fields, in the vocabulary of swarm_desired_fields."""
    spec = service.get("Spec") or {}
    template = spec.get("TaskTemplate") or {}
    container = template.get("ContainerSpec") or {}
    secrets = secret_keys(container.get("Labels") or {})
    env: dict[str, str] = {}
    for item in container.get("Env") or []:
        key, _, value = str(item).partition("=")
        env[key] = SECRET_MASK if key in secrets else value
    limits = (template.get("Resources") or {}).get("Limits") or {}
    volumes = []
    for mount in container.get("Mounts") or []:
        if mount.get("Type") == "volume":
            name = str(mount.get("Source", ""))
            volumes.append({"name": name[len(stack) + 1 :] if name.startswith(stack + "_") else name,
                            "path": mount.get("Target", "")})
    ports = {}
    for port in (spec.get("EndpointSpec") or {}).get("Ports") or []:
        if port.get("PublishedPort"):
            key = f"{port['PublishedPort']}/{port.get('Protocol', 'tcp')}"
            ports[key] = {"published": key, "target": port.get("TargetPort")}
    running = len(running_tasks(tasks))
    wanted = _spec_replicas(service)
    if running == 0:
        status = "stopped" if wanted else "absent"
    else:
        status = "running" if running >= wanted else "degraded"
    fields: dict[str, Any] = {
        "image": str(container.get("Image", "")).split("@", 1)[0],
        "replicas": running,
        "status": status,
        "restart": ((template.get("RestartPolicy") or {}).get("Condition")) or "any",
        "env": env,
        "volumes": sorted(volumes, key=lambda v: v["name"]),
        "ports": [ports[k] for k in sorted(ports)],
        "cpus": round(float(limits.get("NanoCPUs") or 0) / 1e9, 3),
        "memory_mb": int(limits.get("MemoryBytes") or 0) // (1024 * 1024),
    }
    if container.get("Args") is not None:
        fields["command"] = list(container["Args"])
    return fields


def swarm_node(provider: str, node: str, swarm_nodes: list[dict[str, Any]], services: list[dict[str, Any]],
               tasks: list[dict[str, Any]]) -> NodeFacts:
    """The swarm as one node: the ready nodes' cores and memory, every service's limits times its running tasks."""
    ready = [n for n in swarm_nodes if (n.get("Status") or {}).get("State") == "ready"
             and (n.get("Spec") or {}).get("Availability", "active") == "active"]
    cpu = sum(float(((n.get("Description") or {}).get("Resources") or {}).get("NanoCPUs") or 0) for n in ready) / 1e9
    memory = sum(float(((n.get("Description") or {}).get("Resources") or {}).get("MemoryBytes") or 0) for n in ready)
    facts = NodeFacts(
        name=node,
        provider=provider,
        status="online" if ready else "offline",
        cpu=cpu,
        memory_gb=round(memory / GIB, 2),
        labels={"swarm.nodes": str(len(swarm_nodes)), "swarm.ready": str(len(ready))},
    )
    by_service: dict[str, int] = {}
    for task in running_tasks(tasks):
        by_service[str(task.get("ServiceID", ""))] = by_service.get(str(task.get("ServiceID", "")), 0) + 1
    for service in services:
        count = by_service.get(str(service.get("ID", "")), 0)
        limits = (((service.get("Spec") or {}).get("TaskTemplate") or {}).get("Resources") or {}).get("Limits") or {}
        facts.cpu_allocated += float(limits.get("NanoCPUs") or 0) / 1e9 * count
        facts.memory_allocated_gb += float(limits.get("MemoryBytes") or 0) / GIB * count
        facts.guests += count
    return facts


def swarm_resources(provider: str, node: str, services: list[dict[str, Any]],
                    tasks: list[dict[str, Any]]) -> list[ObservedResource]:
    """homeport's stacks (one service each) and the services homeport did not make."""
    by_service: dict[str, list[dict[str, Any]]] = {}
    for task in tasks:
        by_service.setdefault(str(task.get("ServiceID", "")), []).append(task)
    out = []
    for service in sorted(services, key=lambda s: str((s.get("Spec") or {}).get("Name", ""))):
        spec = service.get("Spec") or {}
        labels = spec.get("Labels") or {}
        own_tasks = by_service.get(str(service.get("ID", "")), [])
        if not is_homeport(labels):
            out.append(ObservedResource(
                name=str(spec.get("Name", "")), provider=provider, kind="swarm-service", id=service.get("ID"),
                node=node, owned=False, status=f"{len(running_tasks(own_tasks))}/{_spec_replicas(service)} running",
                fields={"image": str(((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image", ""))
                        .split("@", 1)[0]},
            ))
            continue
        stack = str(labels.get(STACK_LABEL, ""))
        fields = service_fields(service, own_tasks, stack)
        out.append(ObservedResource(
            name=labels[RESOURCE_LABEL], provider=provider, kind="swarm-stack", id=stack or service.get("ID"),
            node=node, owned=True, lab=labels.get(LAB_LABEL), status=str(fields["status"]), fields=fields,
            detail_loaded=True,
        ))
    return out
