"""Placement on fakepve as a Proxmox admin expects: vCPUs overcommitted within cpu_allocation_ratio, spread over
the nodes, guests already running counted by their configured size (not their load), and a guest bigger than
any node held back with the limit named. fakepve reports every node as 4 cores / 8 GiB."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from reconciler.cli import app
from reconciler.source.scaffold import create_lab
from tests.backends.pve import PVE_POOL_WITH_DEFAULTS, PveBackend

RUNNER = CliRunner()


def vm(name: str, cpu: int, memory_gb: float, extra: str = "") -> str:
    return f"""\
apiVersion: homelab.ai/v1
kind: UniversalResource
metadata: {{name: {name}}}
spec:
  pool: /infrastructure/proxmox
  requirements: {{cpu: {cpu}, memory_gb: {memory_gb}, storage_gb: 4}}
{extra}"""


def make_lab(tmp_path: Path, pve: PveBackend, resources: dict[str, str]) -> Path:
    source, lab = tmp_path / "source", tmp_path / "lab"
    for folder in ("pools", "resources"):
        (source / folder).mkdir(parents=True, exist_ok=True)
    (source / "homeport.yaml").write_text(pve.lab_yaml("{auto_apply: true, prune: false}", nodes=False))
    (source / "pools" / "proxmox.yaml").write_text(PVE_POOL_WITH_DEFAULTS)
    for name, text in resources.items():
        (source / "resources" / f"{name}.yaml").write_text(text)
    create_lab(lab, example=source)
    return lab


def busy_cluster(pve: PveBackend) -> None:
    """Guests already running on every node, with their CPUs busy: plex 4 cores / 2 GiB on pve2 (seeded), a 2-core
    database on pve1, scratch 1 core on pve3; fakepve reports each node 2% busy, plex at 95% of its cores."""
    plex = pve.guest("plex")
    plex.config["memory"] = 2048
    plex.stats["cpu"] = 0.95
    pve.pve.add_vm(160, "db", node="pve1", status="running", config={"cores": 2, "memory": 2048})


def plan_json(lab: Path) -> dict[str, Any]:
    result = RUNNER.invoke(app, ["plan", "--lab", str(lab), "--output", "json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


def test_more_vcpus_than_cores_are_placed_within_the_ratio_and_spread(pve: PveBackend, tmp_path: Path) -> None:
    busy_cluster(pve)
    # the first lab (2, 3 and 4 vCPUs) and its second (twelve 2-vCPU VMs): 33 vCPUs on 12 cores,
    # next to 7 vCPUs already allocated
    resources = {"small": vm("small", 2, 0.5), "medium": vm("medium", 3, 0.5), "large": vm("large", 4, 0.5)}
    resources.update({f"w{i:02d}": vm(f"w{i:02d}", 2, 0.25) for i in range(12)})
    lab = make_lab(tmp_path, pve, resources)

    plan = plan_json(lab)
    creates = [c for c in plan["changes"] if c["op"] == "create"]
    assert len(creates) == 15
    assert [c["resource"] for c in creates if c["blocked"]] == []
    for change in creates:
        report = change["placement"]
        assert report["node"] == change["node"] and report["source"] == "placed"
        assert report["cpu_allocation_ratio"] == 4.0 and report["runner_up"] in ("pve1", "pve2", "pve3")
        assert change["node"] in change["reason"] and "runner-up" in change["reason"]
    per_node = Counter(c["node"] for c in creates)
    assert set(per_node) == {"pve1", "pve2", "pve3"}, per_node
    asked = {c["resource"]: c["placement"]["demand"]["cpu"] for c in creates}
    allocated = {"pve1": 2.0, "pve2": 4.0, "pve3": 1.0}
    for c in creates:
        allocated[c["node"]] += asked[c["resource"]]
    assert all(total <= 4 * 4.0 for total in allocated.values()), allocated
    assert max(allocated.values()) - min(allocated.values()) <= 4, f"not spread: {allocated}"

    applied = RUNNER.invoke(app, ["apply", "--lab", str(lab), "--auto-approve"])
    assert applied.exit_code == 0, applied.output
    assert "run ok" in applied.output
    live = {vm.name: vm.node for vm in pve.pve.vms}
    assert {name: live[name] for name in resources} == {c["resource"]: c["node"] for c in creates}

    # the next plan counts what was created as allocation: nothing more to place, everything unchanged
    again = plan_json(lab)
    assert again["summary"]["create"] == 0 and again["summary"]["has_changes"] is False


def test_a_guest_bigger_than_any_node_is_held_back_naming_the_limit(pve: PveBackend, tmp_path: Path) -> None:
    busy_cluster(pve)
    lab = make_lab(tmp_path, pve, {"huge": vm("huge", 6, 2), "fits": vm("fits", 2, 1),
                                   "pinned": vm("pinned", 2, 7, "  placement: {node: pve1}\n")})
    plan = plan_json(lab)
    by_name = {c["resource"]: c for c in plan["changes"]}
    huge = by_name["huge"]
    assert huge["blocked"] and huge["placement"]["source"] == "refused"
    verdicts = {v["node"]: v for v in huge["placement"]["nodes"]}
    assert set(verdicts) == {"pve1", "pve2", "pve3"}
    for verdict in verdicts.values():
        assert verdict["limit"] == "cpu" and "asks 6 vCPUs, more than the node's 4 cores" in verdict["figure"]
    # an explicit placement.node is checked too: pve1 has 8 GiB and 2 GiB allocated to db
    pinned = by_name["pinned"]
    assert pinned["blocked"] and "placement.node pve1 cannot take" in pinned["blocked"]
    assert "memory 2 GiB allocated + 7 > 8" in pinned["blocked"]
    assert not by_name["fits"]["blocked"]
    assert plan["summary"]["held_back"] == 2 and plan["summary"]["create"] == 1

    text = RUNNER.invoke(app, ["plan", "--lab", str(lab)])
    assert "held back" in text.output and "more than the node's 4 cores" in text.output
    assert "1 to create" in text.output and "2 held back" in text.output
