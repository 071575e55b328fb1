"""high_availability on one-instance providers (the sim here): a resource expands into members <name>-1 .. <name>-N
placed on different nodes, each observed and reconciled on its own; the example lab end to end through the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.models.inventory import NodeFacts
from reconciler.models.placement import Demand, PlacementRules
from reconciler.plan.placement import Ledger, place
from tests.foundation.labkit import commit, homeport, new_example_lab

WEB = "resources/web-frontend.yaml"


def web_frontend(requirements: str = "cpu: 2, memory_gb: 4, storage_gb: 20, high_availability: true",
                 deployment: str = "environment: production", extra: str = "") -> str:
    """The example lab's web-frontend (sim), with the given requirements and deployment."""
    return f"""\
apiVersion: homelab.ai/v1
kind: UniversalResource
metadata:
  name: web-frontend
  labels: {{app: web-frontend}}
spec:
  resource_type: compute
  workload_type: web-app
  pool: /infrastructure/on-premise/sim/compute
  requirements: {{{requirements}}}
  deployment: {{{deployment}}}
  service:
    image: nginx:1.27
    ports: [{{name: http, port: 80}}]
{extra}"""


def plan(lab: Path) -> dict[str, Any]:
    code, out = homeport("plan", "--lab", str(lab), "--output", "json")
    assert code == 0, out
    data: dict[str, Any] = json.loads(out)
    return data


def web_changes(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["resource"]: c for c in data["changes"] if c["resource"].startswith("web-frontend")}


def status(lab: Path) -> dict[str, str]:
    code, out = homeport("status", "--lab", str(lab), "--output", "json")
    assert code == 0, out
    rows = json.loads(out)["instances"]
    return {r["name"]: r["node"] for r in rows if r["name"].startswith("web-frontend") and r["status"] == "running"}


def test_example_lab_high_availability_creates_members_on_distinct_nodes(tmp_path: Path) -> None:
    lab = new_example_lab(tmp_path)
    commit(lab, {WEB: web_frontend()}, "web-frontend: high availability")

    changes = web_changes(plan(lab))
    assert sorted(changes) == ["web-frontend-1", "web-frontend-2"]  # two members by default
    assert all(c["op"] == "create" and not c["blocked"] for c in changes.values())
    nodes = {c["node"] for c in changes.values()}
    assert len(nodes) == 2 and nodes <= {"sim-1", "sim-2", "sim-3"}
    second = changes["web-frontend-2"]
    assert "anti-affinity app=web-frontend" in second["reason"]
    assert second["placement"]["node"] not in {changes["web-frontend-1"]["node"]}

    code, out = homeport("apply", "--lab", str(lab), "--auto-approve")
    assert code == 0, out
    assert "applied create web-frontend-1" in out and "applied create web-frontend-2" in out
    assert status(lab) == {name: c["node"] for name, c in changes.items()}
    again = web_changes(plan(lab))
    assert {c["op"] for c in again.values()} == {"noop"}

    # three members: the third goes to the node without one
    commit(lab, {WEB: web_frontend(deployment="environment: production, replicas: 3")}, "three members")
    third = web_changes(plan(lab))["web-frontend-3"]
    assert third["op"] == "create" and third["node"] not in nodes and not third["blocked"]
    code, out = homeport("apply", "--lab", str(lab), "--auto-approve")
    assert code == 0, out
    assert sorted(status(lab).values()) == ["sim-1", "sim-2", "sim-3"]

    # scaling down deletes the highest member only, saying why; prune guards still apply
    commit(lab, {WEB: web_frontend()}, "back to two members")
    changes = web_changes(plan(lab))
    assert changes["web-frontend-3"]["op"] == "delete"
    assert "member 3 of web-frontend: high_availability now runs 2 members" in changes["web-frontend-3"]["reason"]
    assert changes["web-frontend-1"]["op"] == changes["web-frontend-2"]["op"] == "noop"
    code, out = homeport("apply", "--lab", str(lab), "--auto-approve")
    assert code == 0, out
    assert sorted(status(lab)) == ["web-frontend-1", "web-frontend-2"]


def test_turning_high_availability_on_keeps_the_running_instance_as_member_one(tmp_path: Path) -> None:
    lab = new_example_lab(tmp_path)
    code, out = homeport("apply", "--lab", str(lab), "--auto-approve")
    assert code == 0, out
    before = status(lab)
    assert list(before) == ["web-frontend"]

    commit(lab, {WEB: web_frontend()}, "web-frontend: high availability")
    changes = web_changes(plan(lab))
    first, second = changes["web-frontend-1"], changes["web-frontend-2"]
    assert first["op"] == "rename" and first["previous_name"] == "web-frontend"
    assert first["node"] == before["web-frontend"]
    assert second["op"] == "create" and second["node"] != first["node"]
    assert "web-frontend" not in changes  # never deleted: member 1 takes it over
    code, out = homeport("apply", "--lab", str(lab), "--auto-approve")
    assert code == 0, out
    after = status(lab)
    assert after["web-frontend-1"] == before["web-frontend"] and after["web-frontend-2"] != after["web-frontend-1"]

    # and off again, as docs/placement.md says: renamed_from web-frontend-1 keeps the first member
    single = web_frontend("cpu: 2, memory_gb: 4, storage_gb: 20", extra="  renamed_from: web-frontend-1\n")
    commit(lab, {WEB: single}, "web-frontend: one instance again")
    changes = web_changes(plan(lab))
    assert changes["web-frontend"]["op"] == "rename" and changes["web-frontend"]["previous_name"] == "web-frontend-1"
    assert changes["web-frontend-2"]["op"] == "delete"
    code, out = homeport("apply", "--lab", str(lab), "--auto-approve")
    assert code == 0, out
    assert status(lab) == {"web-frontend": before["web-frontend"]}


def test_members_are_held_back_rather_than_share_a_node_when_enough_nodes_exist(tmp_path: Path) -> None:
    lab = new_example_lab(tmp_path)
    # 10 vCPU members: sim-1 and sim-2 (16 cores) could take two each, sim-3 (8 cores) none; three nodes for three
    # members, so the third is held back rather than put beside another
    api = web_frontend("cpu: 1, memory_gb: 1", extra="  depends_on: [web-frontend]\n").replace(
        "name: web-frontend\n", "name: api\n").replace("{app: web-frontend}", "{app: api}")
    commit(lab, {WEB: web_frontend("cpu: 10, memory_gb: 4, high_availability: true",
                                   "environment: production, replicas: 3"), "resources/api.yaml": api},
           "big members, and an api that depends on them")
    changes = web_changes(plan(lab))
    placed = [c for c in changes.values() if not c["blocked"]]
    held = [c for c in changes.values() if c["blocked"]]
    assert len({c["node"] for c in placed}) == len(placed)
    assert held, changes
    assert any("anti-affinity app=web-frontend: every node that fits" in c["blocked"] for c in held), held
    assert any("3 members need 3 nodes" in c["blocked"] for c in held)
    # a resource depending on a high_availability resource waits for every member
    (api_change,) = [c for c in plan(lab)["changes"] if c["resource"] == "api"]
    assert api_change["blocked"] and f"waiting on a dependency: {held[0]['resource']} is held back" in \
        api_change["blocked"]


def test_bad_high_availability_definitions_name_the_file_and_field(tmp_path: Path) -> None:
    lab = new_example_lab(tmp_path)
    commit(lab, {WEB: web_frontend(extra="  placement: {node: sim-1}\n  network: {ipv4: 10.0.0.5/24}\n"),
                 "resources/web-frontend-2.yaml": web_frontend().replace("name: web-frontend\n",
                                                                         "name: web-frontend-2\n")},
           "contradictions")
    code, out = homeport("validate", "--lab", str(lab))
    assert code != 0
    assert "resources/web-frontend.yaml" in out
    assert "spec.placement.node: high_availability spreads 2 members" in out
    assert "spec.network.ipv4: high_availability runs 2 members; one static address (10.0.0.5/24)" in out
    assert "web-frontend-2 is declared as a resource of its own" in out
    assert "Traceback" not in out


def _nodes(*names: str, mem: float = 8) -> Ledger:
    return Ledger.of([NodeFacts(name=n, provider="p", cpu=4, memory_gb=mem) for n in names])


def test_placement_of_members_hard_when_enough_nodes_soft_when_too_few() -> None:
    member = PlacementRules(anti_affinity_group="app=web", anti_affinity_members=2)
    small = Demand(cpu=1, memory_gb=6)
    # two nodes, two members, only one node has room left: the second member is held back, not co-located
    ledger = _nodes("a", "b")
    ledger.nodes["b"].memory_claimed_gb = 7
    first = place("web-1", small, member, ledger)
    assert first.node == "a"
    second = place("web-2", Demand(cpu=1, memory_gb=1.5), member, ledger)
    assert second.source == "refused" and second.node is None
    assert "every node that fits 1 vCPU, 1.5 GiB already runs a member (a); 2 members need 2 nodes" in second.reason
    # one node for two members: they share it, with a warning saying why
    lone = _nodes("a", mem=64)
    place("web-1", small, member, lone)
    shared = place("web-2", small, member, lone)
    assert shared.node == "a"
    assert any("(the pool has 1 node(s) for 2 members)" in w for w in shared.warnings)
    # containers publishing ports never share an engine, however few there are
    ports = member.model_copy(update={"anti_affinity_required": True})
    lone = _nodes("a", mem=64)
    place("web-1", small, ports, lone)
    refused = place("web-2", small, ports, lone)
    assert refused.source == "refused" and "members publishing ports cannot share a node" in refused.reason
