"""End to end through the phases and the `homeport` CLI, with a Git lab and two real Docker engines.

plan -> apply on two engines -> a second plan is a no-op -> out of band: one container stopped, one
removed, one re-created by hand with another env value -> the daemon-mode run records deviations
(self_heal off) -> self_heal on converges -> a resource removed from Git is pruned, its named
volume stays.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from reconciler.models.plan import Mode
from reconciler.phases.context import LabSession
from reconciler.phases.run import reconcile
from reconciler.store.deviations import list_open_deviations
from tests.backends.dockerd import TEST_IMAGE, DockerEngine, free_port
from tests.foundation.labkit import GIT_ENV, commit, homeport
from tests.providers.docker.test_converge import (
    http_get,
    recreate_with_env,
    remove_container,
    stop_container,
    wait_until_healthy,
)

pytestmark = pytest.mark.slow  # real dockerd engines


def lab_yaml(engines: dict[str, DockerEngine], self_heal: bool) -> str:
    endpoints = ", ".join(f'{n}: "{e.endpoint}"' for n, e in sorted(engines.items()))
    return f"""\
apiVersion: homelab.ai/v1
kind: Lab
metadata: {{name: home}}
spec:
  providers:
    docker:
      type: docker
      nodes: [node1, node2]
      options:
        engines: {{{endpoints}}}
        wait_timeout: 60
  reconcile: {{prune: true, self_heal: {str(self_heal).lower()}, max_prune_fraction: 1.0, max_auto_risk: high}}
"""


POOL = """\
apiVersion: homelab.ai/v1
kind: ResourcePool
metadata: {name: docker-hosts}
spec:
  path: /lab/docker
  provider: docker
  nodes: [node1, node2]
  properties: {network_mode: host, pull_policy: never}
"""


def service_yaml(name: str, node: str, port: int, env: dict[str, str], extra: str = "") -> str:
    env_text = ", ".join(f"{k}: {json.dumps(v)}" for k, v in env.items())
    return f"""\
apiVersion: homelab.ai/v1
kind: UniversalResource
metadata: {{name: {name}}}
spec:
  resource_type: service
  workload_type: web
  pool: /lab/docker
  requirements: {{cpu: 1, memory_gb: 0.25}}
  placement: {{node: {node}}}
  service:
    image: {TEST_IMAGE}
    command: [httpd, -f, -p, "127.0.0.1:{port}", -h, /www]
    env: {{{env_text}}}
    volumes: [{{name: data, path: /data}}]
    healthcheck: {{http_path: /, port: {port}, interval: 1s, retries: 3}}
{extra}"""


def run_json(*args: str) -> tuple[int, dict[str, Any]]:
    code, out = homeport(*args, "--output", "json")
    return code, json.loads(out)


def ops(plan: dict[str, Any]) -> dict[str, str]:
    return {c["resource"]: c["op"] for c in plan["changes"]}


def volumes_on(engine: DockerEngine) -> set[str]:
    client = engine.client()
    try:
        return {v["Name"] for v in client.volumes().get("Volumes") or []}
    finally:
        client.close()


def test_plan_apply_drift_heal_prune(clean_engines: dict[str, DockerEngine], tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.delenv("HOMEPORT_DATABASE_URL", raising=False)
    lab = tmp_path / "lab"
    subprocess.run(["git", "init", "-q", "-b", "main", str(lab)], check=True, env=GIT_ENV)
    ports = {"web-a": free_port(), "web-b": free_port(), "web-c": free_port()}
    nodes = {"web-a": "node1", "web-b": "node2", "web-c": "node1"}
    files: dict[str, str | None] = {
        "homeport.yaml": lab_yaml(clean_engines, self_heal=False),
        "pools/docker.yaml": POOL,
    }
    for name in ports:
        files[f"resources/{name}.yaml"] = service_yaml(
            name, nodes[name], ports[name], {"GREETING": "hello", "LEVEL": "info"}
        )
    commit(lab, files, "two docker engines, three services")

    code, plan = run_json("plan", "--lab", str(lab))
    assert code == 0, plan
    assert ops(plan) == {"web-a": "create", "web-b": "create", "web-c": "create"}

    code, run = run_json("apply", "--lab", str(lab), "--auto-approve")
    assert code == 0 and run["status"] == "ok", run
    assert {o["resource"]: o["status"] for o in run["outcomes"]} == dict.fromkeys(ports, "applied")
    for name, port in ports.items():
        assert http_get(port) == "homeport test page\n", name

    code, out = homeport("plan", "--lab", str(lab), "--detailed-exitcode")
    assert code == 0, out
    code, plan = run_json("plan", "--lab", str(lab))
    assert ops(plan) == dict.fromkeys(ports, "noop")

    stop_container(clean_engines["node1"], "home-web-a")
    recreate_with_env(clean_engines["node2"], "home-web-b", {"LEVEL": "debug"})
    wait_until_healthy(clean_engines["node2"], "home-web-b")
    remove_container(clean_engines["node1"], "home-web-c")

    session = LabSession.open(lab)
    try:
        held = reconcile(session, mode=Mode.auto, trigger="test-daemon")
        assert held.plan is not None
        blocked = {c.resource: c.blocked for c in held.plan.changes if c.op.value != "noop"}
        assert set(blocked) == set(ports) and all("self_heal is off" in (b or "") for b in blocked.values())
        deviations = {(d.resource, d.field_path) for d in list_open_deviations(session.db, "home")}
        assert ("web-a", "status") in deviations
        assert ("web-b", "env.LEVEL") in deviations
        assert any(resource == "web-c" for resource, _ in deviations)
    finally:
        session.close()

    commit(lab, {"homeport.yaml": lab_yaml(clean_engines, self_heal=True)}, "self-heal on")
    session = LabSession.open(lab)
    try:
        healed = reconcile(session, mode=Mode.auto, trigger="test-daemon")
        assert healed.status == "ok", (healed.error, [(o.change.resource, o.message) for o in healed.outcomes])
        assert {o.change.resource for o in healed.outcomes} == set(ports)
        assert list_open_deviations(session.db, "home") == []
    finally:
        session.close()
    code, plan = run_json("plan", "--lab", str(lab))
    assert ops(plan) == dict.fromkeys(ports, "noop")

    # web-c holds data (a volume), so it is stateful: deleting it is allowed first, then it leaves Git.
    allow = "  sync: {allow_delete_stateful: true}\n"
    retiring = service_yaml("web-c", "node1", ports["web-c"], {"GREETING": "bye", "LEVEL": "info"}, allow)
    commit(lab, {"resources/web-c.yaml": retiring}, "web-c may be deleted")
    code, run = run_json("apply", "--lab", str(lab), "--auto-approve")
    assert code == 0 and [o["op"] for o in run["outcomes"]] == ["update"], run
    commit(lab, {"resources/web-c.yaml": None}, "retire web-c")
    _, plan_before_prune = run_json("plan", "--lab", str(lab))
    code, run = run_json("apply", "--lab", str(lab), "--auto-approve")
    assert code == 0 and run["status"] == "ok", run
    deleted = [o for o in run["outcomes"] if o["resource"] == "web-c"]
    assert deleted, [(c["resource"], c.get("blocked")) for c in plan_before_prune["changes"]]
    assert deleted[0]["op"] == "delete" and "named volumes kept" in deleted[0]["message"]
    assert "home-web-c_data" in volumes_on(clean_engines["node1"])
    code, plan = run_json("plan", "--lab", str(lab))
    assert ops(plan) == {"web-a": "noop", "web-b": "noop"}
