"""high_availability on Docker, against real engines, through the `homeport` CLI and a Git lab.

- A plain-engine provider (two engines): the resource becomes members web-1 and web-2, one compose project on
  each engine, each observed and reconciled.
- A swarm provider (`options.mode: swarm`; a test dockerd made a one-node swarm by `docker swarm init`): the
  resource is one stack whose service runs deploy.replicas (3) spread over the swarm's nodes, applied with
  `docker stack deploy`, observed from the swarm's services and tasks, scaled and removed.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.render.validators.compose_format import validate as validate_compose
from tests.backends.dockerd import TEST_IMAGE, DockerEngine, DockerUnavailable, running_engines
from tests.foundation.labkit import commit, homeport, new_mini_lab, resource

pytestmark = pytest.mark.slow  # real dockerd engines


def pool(extra: str = "") -> str:
    return f"""\
apiVersion: homelab.ai/v1
kind: ResourcePool
metadata: {{name: docker-hosts}}
spec:
  path: /lab/docker
  provider: docker
  properties: {{network_mode: host, pull_policy: never{extra}}}
"""


def web(replicas: int | None = None, extra: str = "", cpu: str = "cpu: 1, ") -> str:
    deployment = f"  deployment: {{replicas: {replicas}}}\n" if replicas else ""
    return f"""\
apiVersion: homelab.ai/v1
kind: UniversalResource
metadata: {{name: web, labels: {{app: web}}}}
spec:
  resource_type: service
  workload_type: {"web" if cpu else "general"}
  pool: /lab/docker
  requirements: {{{cpu}memory_gb: 0.25, high_availability: true}}
{deployment}  service:
    image: {TEST_IMAGE}
    command: [sleep, "3600"]
    env: {{GREETING: hello}}
{extra}"""


def lab_yaml(options: str, nodes: str = "") -> str:
    return f"""\
apiVersion: homelab.ai/v1
kind: Lab
metadata: {{name: mini}}
spec:
  providers:
    lab: {{type: sim, nodes: [n1, n2]}}
    docker:
      type: docker
{nodes}      options: {options}
  reconcile: {{prune: true, self_heal: false, max_prune_fraction: 1.0, max_auto_risk: high}}
"""


def plan(lab: Path) -> dict[str, Any]:
    code, out = homeport("plan", "--lab", str(lab), "--output", "json")
    assert code == 0, out
    data: dict[str, Any] = json.loads(out)
    return data


def changes(lab: Path) -> dict[str, dict[str, Any]]:
    """The docker changes of a plan (the sim resource `a` only keeps the prune guard content)."""
    return {c["resource"]: c for c in plan(lab)["changes"] if c["provider"] == "docker"}


def apply(lab: Path) -> str:
    code, out = homeport("apply", "--lab", str(lab), "--auto-approve")
    assert code == 0, out
    return out


def test_plain_engines_run_one_member_per_engine(clean_engines: dict[str, DockerEngine], tmp_path: Path) -> None:
    endpoints = ", ".join(f'{n}: "{e.endpoint}"' for n, e in sorted(clean_engines.items()))
    lab = new_mini_lab(tmp_path, {"web": web(), "a": resource("a")})
    commit(lab, {"homeport.yaml": lab_yaml(f"{{engines: {{{endpoints}}}, wait_timeout: 60}}",
                                           "      nodes: [node1, node2]\n"),
                 "pools/docker.yaml": pool()}, "docker lab")
    planned = changes(lab)
    assert sorted(planned) == ["web-1", "web-2"]
    assert {c["op"] for c in planned.values()} == {"create"}
    assert sorted(c["node"] for c in planned.values()) == ["node1", "node2"]
    out = apply(lab)
    assert "applied create web-1" in out and "applied create web-2" in out
    for name, change in planned.items():
        client = clean_engines[change["node"]].client()
        try:
            running = client.containers(filters={"label": f"homeport.resource={name}"})
        finally:
            client.close()
        assert [c["State"] for c in running] == ["running"], (name, running)
    assert {c["op"] for c in changes(lab).values()} == {"noop"}


def _free_port(low: int = 20000, high: int = 40000) -> int:
    """A port free for TCP and UDP within the range docker swarm accepts for its data path."""
    for port in range(low, high, 7):
        try:
            with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                tcp.bind(("127.0.0.1", port))
                udp.bind(("127.0.0.1", port))
        except OSError:
            continue
        return port
    raise AssertionError("no free port for the swarm")


@pytest.fixture
def swarm_engine() -> Iterator[DockerEngine]:
    """A test engine of its own, made a one-node swarm (manager) on loopback ports."""
    docker = shutil.which("docker")
    if docker is None:
        pytest.fail("the docker CLI is not installed: run `make test-deps` (docker.io)", pytrace=False)
    try:
        with running_engines(["swarm"]) as engines:
            engine = engines["swarm"]
            listen = f"127.0.0.1:{_free_port()}"
            done = subprocess.run(
                [docker, "swarm", "init", "--advertise-addr", listen, "--listen-addr", listen,
                 "--data-path-port", str(_free_port(30001))],
                env={"DOCKER_HOST": engine.endpoint, "PATH": "/usr/bin:/bin:/usr/local/bin"},
                capture_output=True, text=True, timeout=120, check=False)
            assert done.returncode == 0, f"docker swarm init failed: {done.stderr}\n{engine.log()}"
            yield engine
    except DockerUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


def services(engine: DockerEngine) -> dict[str, tuple[int, int]]:
    """Each service's (running tasks, wanted replicas)."""
    client = engine.client()
    try:
        out = {}
        for service in client.services():
            tasks = client.tasks(filters={"service": service["ID"], "desired-state": "running"})
            running = sum(1 for t in tasks if t["Status"]["State"] == "running")
            out[service["Spec"]["Name"]] = (running, service["Spec"]["Mode"]["Replicated"]["Replicas"])
        return out
    finally:
        client.close()


def test_swarm_pool_runs_deploy_replicas_as_one_stack(swarm_engine: DockerEngine, tmp_path: Path) -> None:
    # no cpu limit (workload general has no profile): the test machine's two cores are the whole swarm, and a
    # stack of 3 x 1 vCPU asks more than that
    lab = new_mini_lab(tmp_path, {"web": web(cpu=""), "a": resource("a")})
    commit(lab, {"homeport.yaml": lab_yaml(f'{{mode: swarm, engines: {{manager: "{swarm_engine.endpoint}"}}, '
                                           "wait_timeout: 60}"),
                 "pools/docker.yaml": pool()}, "swarm lab")

    # the stack file a swarm user expects, valid for the compose-spec schema and Compose's own loader
    code, out = homeport("render", "--lab", str(lab))
    assert code == 0, out
    stack_files = list((lab / "rendered-configs").rglob("docker-stack.yaml"))
    assert len(stack_files) == 1 and not list((lab / "rendered-configs").rglob("compose.yaml"))
    text = stack_files[0].read_text()
    assert validate_compose("docker-stack.yaml", text) == []
    deploy = yaml.safe_load(text)["services"]["web"]["deploy"]
    assert deploy["replicas"] == 3 and deploy["placement"]["preferences"] == [{"spread": "node.id"}]
    assert deploy["update_config"]["failure_action"] == "rollback" and deploy["restart_policy"]["condition"] == "any"
    assert deploy["labels"]["homeport.resource"] == "web"

    planned = changes(lab)
    assert list(planned) == ["web"] and planned["web"]["op"] == "create"  # one stack, not members
    out = apply(lab)
    assert "3 of 3 replicas running" in out, out
    assert services(swarm_engine) == {"mini-web_web": (3, 3)}
    again = changes(lab)
    assert again["web"]["op"] == "noop", again["web"]["fields"]

    # more replicas: an update of the one service
    commit(lab, {"resources/web.yaml": web(replicas=4, cpu="")}, "four replicas")
    scaled = changes(lab)["web"]
    assert scaled["op"] == "update" and any(f["path"] == "replicas" and f["new"] == 4 for f in scaled["fields"])
    apply(lab)
    assert services(swarm_engine) == {"mini-web_web": (4, 4)}
    assert changes(lab)["web"]["op"] == "noop"

    # removed from Git: the stack goes
    commit(lab, {"resources/web.yaml": None}, "remove web")
    assert changes(lab)["web"]["op"] == "delete"
    out = apply(lab)
    assert "removed from the swarm" in out
    assert services(swarm_engine) == {}

    # a hard limit the one-node swarm cannot meet: the apply fails with the swarm's own words, never pretends
    commit(lab, {"pools/docker.yaml": pool(", max_replicas_per_node: 1, ha_replicas: 2"),
                 "resources/web.yaml": web(cpu=""),
                 "homeport.yaml": lab_yaml(f'{{mode: swarm, engines: {{manager: "{swarm_engine.endpoint}"}}, '
                                           "wait_timeout: 10}")}, "one per node")
    code, out = homeport("apply", "--lab", str(lab), "--auto-approve")
    assert code != 0, out
    assert "1 of 2 replicas running after 10s" in out and "max replicas per node" in out.lower(), out
    assert services(swarm_engine) == {"mini-web_web": (1, 2)}
