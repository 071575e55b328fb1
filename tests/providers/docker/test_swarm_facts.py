"""Pure swarm facts (options.mode: swarm): a manager's service, task and node answers read as homeport fields, the
fields a resource wants, and the settings a swarm provider is refused for. The answers have the shapes a real
dockerd returned in tests/providers/docker/test_high_availability.py."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.models.lab import ProviderConfig
from reconciler.providers.docker.settings import docker_settings
from reconciler.providers.docker.swarm import service_fields, swarm_node, swarm_resources, task_problems
from reconciler.providers.errors import PermanentProviderError

OWNED = {"homeport.managed-by": "homeport", "homeport.lab": "mini", "homeport.resource": "web",
         "com.docker.stack.namespace": "mini-web"}


def service(replicas: int = 3, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "ID": "svc1",
        "Spec": {
            "Name": "mini-web_web",
            "Labels": OWNED if labels is None else labels,
            "Mode": {"Replicated": {"Replicas": replicas}},
            "TaskTemplate": {
                "ContainerSpec": {
                    "Image": "nginx:1.27@sha256:" + "a" * 64,
                    "Args": ["nginx", "-g", "daemon off;"],
                    "Env": ["GREETING=hello", "TOKEN=s3cret"],
                    "Labels": {"homeport.secret-env": "TOKEN"},
                    "Mounts": [{"Type": "volume", "Source": "mini-web_data", "Target": "/data"}],
                },
                "Resources": {"Limits": {"NanoCPUs": 1_000_000_000, "MemoryBytes": 512 * 1024 * 1024}},
                "RestartPolicy": {"Condition": "any"},
            },
            "EndpointSpec": {"Ports": [{"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080}]},
        },
    }


def task(slot: int, state: str = "running", desired: str = "running", err: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"State": state, "Message": "started" if state == "running" else "pending task scheduling"}
    if err:
        status["Err"] = err
    return {"ServiceID": "svc1", "Slot": slot, "DesiredState": desired, "Status": status, "UpdatedAt": f"t{slot}",
            "NodeID": "node1"}


def test_a_stack_service_reads_as_homeport_fields_with_secrets_masked() -> None:
    fields = service_fields(service(), [task(1), task(2), task(3, "shutdown", "shutdown")], "mini-web")
    assert fields == {
        "image": "nginx:1.27", "replicas": 2, "status": "degraded", "restart": "any",
        "env": {"GREETING": "hello", "TOKEN": "(secret)"},
        "volumes": [{"name": "data", "path": "/data"}],
        "ports": [{"published": "8080/tcp", "target": 80}],
        "cpus": 1.0, "memory_mb": 512, "command": ["nginx", "-g", "daemon off;"],
    }
    assert service_fields(service(2), [task(1), task(2)], "mini-web")["status"] == "running"
    assert service_fields(service(2), [], "mini-web")["status"] == "stopped"


def test_homeport_stacks_and_other_services_and_the_swarm_as_one_node() -> None:
    other = service(1, labels={}) | {"ID": "svc2"}
    other["Spec"] = dict(other["Spec"], Name="stranger")
    found = swarm_resources("swarm", "manager", [service(), other], [task(1), task(2), task(3)])
    mine = next(r for r in found if r.owned)
    assert (mine.name, mine.kind, mine.id, mine.node, mine.lab, mine.status) == (
        "web", "swarm-stack", "mini-web", "manager", "mini", "running")
    stranger = next(r for r in found if not r.owned)
    assert (stranger.name, stranger.kind, stranger.status) == ("stranger", "swarm-service", "0/1 running")
    nodes = [{"Status": {"State": "ready"}, "Spec": {"Availability": "active"},
              "Description": {"Resources": {"NanoCPUs": 4_000_000_000, "MemoryBytes": 8 * 1024**3}}},
             {"Status": {"State": "down"}, "Spec": {"Availability": "active"},
              "Description": {"Resources": {"NanoCPUs": 4_000_000_000, "MemoryBytes": 8 * 1024**3}}}]
    facts = swarm_node("swarm", "manager", nodes, [service()], [task(1), task(2), task(3)])
    assert (facts.cpu, facts.memory_gb, facts.cpu_allocated, facts.memory_allocated_gb, facts.guests) == (
        4.0, 8.0, 3.0, 1.5, 3)
    assert facts.labels == {"swarm.nodes": "2", "swarm.ready": "1"}


def test_task_problems_are_the_swarms_own_words() -> None:
    tasks = [task(1), task(2, "pending", err="no suitable node (max replicas per node limit exceed)"),
             task(3, "rejected", err="No such image: nginx:9")]
    assert task_problems(tasks) == ["task 3 rejected: No such image: nginx:9",
                                    "task 2 pending: no suitable node (max replicas per node limit exceed)"]


@pytest.mark.parametrize(("options", "endpoint", "message"), [
    ({"mode": "swarm", "engines": {"a": "unix:///a.sock", "b": "unix:///b.sock"}}, None,
     "options.mode swarm talks to one swarm manager, but 2 engines are configured"),
    ({"mode": "kubernetes"}, "unix:///a.sock", "options.mode must be engine or swarm, not 'kubernetes'"),
])
def test_swarm_settings_are_checked(options: dict[str, Any], endpoint: str | None, message: str) -> None:
    with pytest.raises(PermanentProviderError, match=message.replace("(", r"\(").replace(")", r"\)")):
        docker_settings("swarm", ProviderConfig(type="docker", endpoint=endpoint, options=options))
    assert docker_settings("swarm", ProviderConfig(type="docker", endpoint="unix:///a.sock",
                                                   options={"mode": "swarm"})).mode == "swarm"
