"""Placement on the sim provider through the real CLI: allocation within cpu_allocation_ratio (inherited down the
pool hierarchy), machines already running counted, a guest bigger than any node held back naming the limit,
and template node_constraints enforced."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from reconciler.phases.context import LabSession
from reconciler.providers.sim.drift import add_unmanaged
from reconciler.store.provider_state import DbProviderState
from tests.foundation.labkit import GIT_ENV, commit, homeport

LAB = """\
apiVersion: homelab.ai/v1
kind: Lab
metadata: {name: mini}
spec:
  providers:
    lab:
      type: sim
      nodes: [n1, n2, n3]
      options:
        nodes:
          n1: {cpu: 4, memory_gb: 8, gpu: 0}
          n2: {cpu: 4, memory_gb: 8, gpu: 0}
          n3: {cpu: 4, memory_gb: 64, gpu: 1, gpu_model: "NVIDIA RTX 4090"}
"""
PARENT = """\
apiVersion: homelab.ai/v1
kind: ResourcePool
metadata: {name: lab}
spec:
  path: /lab
  provider: lab
"""
CHILD = """\
apiVersion: homelab.ai/v1
kind: ResourcePool
metadata: {name: compute}
spec:
  path: /lab/compute
  nodes: [n1, n2, n3]
"""
GPU_TEMPLATE = """\
apiVersion: homelab.ai/v1
kind: DeploymentTemplate
metadata: {name: llm}
spec:
  validation:
    node_constraints: [{has_gpu: true}, {min_memory_gb: 32}]
"""


def vm(name: str, cpu: int, memory_gb: float, extra: str = "") -> str:
    return f"""\
apiVersion: homelab.ai/v1
kind: UniversalResource
metadata: {{name: {name}}}
spec:
  pool: /lab/compute
  requirements: {{cpu: {cpu}, memory_gb: {memory_gb}}}
{extra}"""


def make_lab(tmp_path: Path, resources: dict[str, str], parent: str = PARENT) -> Path:
    import subprocess

    lab = tmp_path / "mini"
    lab.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(lab)], check=True, env=GIT_ENV)
    files = {"homeport.yaml": LAB, "pools/lab.yaml": parent, "pools/compute.yaml": CHILD,
             "templates/llm.yaml": GPU_TEMPLATE}
    files.update({f"resources/{n}.yaml": text for n, text in resources.items()})
    commit(lab, files, "lab")
    session = LabSession.open(lab)
    try:  # machines already running, not homeport's: 2 + 1 + 1 vCPUs, one node busy right now
        state = DbProviderState(session.db, "mini", "lab")
        add_unmanaged(state, "db", "n1", {"cpu": 2, "memory_gb": 2.0, "cpu_load": 3.9})
        add_unmanaged(state, "dns", "n2", {"cpu": 1, "memory_gb": 1.0})
        add_unmanaged(state, "nas", "n3", {"cpu": 1, "memory_gb": 1.0})
    finally:
        session.close()
    return lab


def plan_json(lab: Path) -> dict[str, Any]:
    code, out = homeport("plan", "--lab", str(lab), "--output", "json")
    assert code == 0, out
    data: dict[str, Any] = json.loads(out)
    return data


def test_more_vcpus_than_cores_are_placed_within_the_default_ratio_and_spread(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, {f"w{i:02d}": vm(f"w{i:02d}", 2, 0.5) for i in range(12)})
    plan = plan_json(lab)
    creates = [c for c in plan["changes"] if c["op"] == "create"]
    assert len(creates) == 12 and not any(c["blocked"] for c in creates)
    per_node = Counter(c["node"] for c in creates)
    assert set(per_node) == {"n1", "n2", "n3"} and max(per_node.values()) - min(per_node.values()) <= 1
    busy = next(c for c in creates if c["node"] == "n1")
    assert any("n1 is busy" in w for w in busy["placement"]["warnings"]), "usage is a warning, not a refusal"
    code, out = homeport("apply", "--lab", str(lab), "--auto-approve")
    assert code == 0, out
    assert plan_json(lab)["summary"]["has_changes"] is False


def test_a_ratio_set_on_a_parent_pool_is_inherited(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, {f"w{i:02d}": vm(f"w{i:02d}", 2, 0.5) for i in range(12)},
                   parent=PARENT + "  cpu_allocation_ratio: 1.0\n")
    plan = plan_json(lab)
    placed = [c for c in plan["changes"] if c["op"] == "create" and not c["blocked"]]
    # 4 cores per node with 2, 1 and 1 allocated already: one more 2-vCPU guest per node at ratio 1.0
    assert len(placed) == 3 and plan["summary"]["held_back"] == 9
    held = next(c for c in plan["changes"] if c["blocked"])
    assert "(4 cores x 1)" in held["blocked"] and held["placement"]["cpu_allocation_ratio"] == 1.0
    code, out = homeport("apply", "--lab", str(lab), "--auto-approve")
    assert code == 4, out  # held back is not success
    assert "9 held back" in out


def test_bigger_than_any_node_and_node_constraints(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, {
        "huge": vm("huge", 6, 1),
        "llm": vm("llm", 2, 16, "  template: llm\n"),
        "plain": vm("plain", 1, 1),
    })
    changes = {c["resource"]: c for c in plan_json(lab)["changes"]}
    huge = changes["huge"]
    assert huge["blocked"] and all(v["limit"] == "cpu" for v in huge["placement"]["nodes"])
    assert "the guest asks 6 vCPUs, more than the node's 4 cores" in huge["blocked"]
    # has_gpu and min_memory_gb: only n3 qualifies
    assert changes["llm"]["node"] == "n3" and not changes["llm"]["blocked"]
    # a guest asking no GPU is kept off the GPU node when another fits as well
    assert changes["plain"]["node"] in ("n1", "n2")


def test_capacity_command_shows_what_placement_checks(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, {"a": vm("a", 2, 1)}, parent=PARENT + "  cpu_allocation_ratio: 2.0\n")
    code, out = homeport("capacity", "--lab", str(lab), "--output", "json")
    assert code == 0, out
    nodes = {n["node"]: n for n in json.loads(out)["nodes"]}
    n1 = nodes["n1"]
    assert (n1["cpu"], n1["cpu_allocated"], n1["cpu_allocation_ratio"], n1["cpu_free_to_place"]) == (4, 2, 2.0, 6)
    assert (n1["memory_allocated_gb"], n1["memory_free_to_place_gb"], n1["guests"]) == (2, 6, 1)
    assert n1["cpu_used"] == 3.9 and n1["pools"] == ["/lab", "/lab/compute"]
    assert nodes["n3"]["gpus_free"] == 1 and nodes["n3"]["gpu_models"] == ["NVIDIA RTX 4090"]
    code, text = homeport("capacity", "--lab", str(lab))
    assert code == 0 and "Capacity" in text and "n3" in text, text
    code, text = homeport("capacity", "--lab", str(lab), "--provider", "nope")
    assert code != 0 and "no provider 'nope'" in text


def test_the_daemon_records_a_run_partial_when_capacity_holds_changes_back(tmp_path: Path) -> None:
    from reconciler.models.plan import Mode
    from reconciler.phases.run import reconcile

    lab = make_lab(tmp_path, {"fits": vm("fits", 1, 1), "huge": vm("huge", 6, 1)})
    session = LabSession.open(lab, actor="daemon", actor_kind="daemon")
    try:
        result = reconcile(session, mode=Mode.auto, trigger="test")
    finally:
        session.close()
    assert result.status == "partial" and [o.change.resource for o in result.outcomes] == ["fits"]
