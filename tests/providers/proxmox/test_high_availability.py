"""high_availability on Proxmox (fakepve, three nodes of 4 cores / 8 GiB): a resource becomes VMs <name>-1 .. <name>-N
on different nodes, each created, observed and reconciled on its own; scaling down deletes the highest member only,
within the prune guards; members that cannot go to a node of their own are held back with the reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from reconciler.cli import app
from reconciler.source.scaffold import create_lab
from tests.backends.pve import PVE_POOL_WITH_DEFAULTS, PveBackend
from tests.foundation.labkit import commit

RUNNER = CliRunner()


def web(replicas: int | None = None, cpu: int = 1, memory_gb: float = 1) -> str:
    deployment = f"  deployment: {{replicas: {replicas}}}\n" if replicas else ""
    return f"""\
apiVersion: homelab.ai/v1
kind: UniversalResource
metadata: {{name: web, labels: {{app: web}}}}
spec:
  pool: /infrastructure/proxmox
  requirements: {{cpu: {cpu}, memory_gb: {memory_gb}, storage_gb: 4, high_availability: true}}
{deployment}"""


def make_lab(tmp_path: Path, pve: PveBackend, reconcile: str, resource: str) -> Path:
    source, lab = tmp_path / "source", tmp_path / "lab"
    for folder in ("pools", "resources"):
        (source / folder).mkdir(parents=True, exist_ok=True)
    (source / "homeport.yaml").write_text(pve.lab_yaml(reconcile))
    (source / "pools" / "proxmox.yaml").write_text(PVE_POOL_WITH_DEFAULTS)
    (source / "resources" / "web.yaml").write_text(resource)
    create_lab(lab, example=source)
    return lab


def cli(*args: str) -> Any:
    result = RUNNER.invoke(app, [*args, "--output", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def members(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["resource"]: c for c in data["changes"] if c["resource"].startswith("web-")}


def live(pve: PveBackend) -> dict[str, str]:
    return {vm.name: vm.node for vm in pve.pve.vms if vm.name.startswith("web-")}


def test_members_become_vms_on_distinct_nodes_and_scale_down_under_the_prune_guards(
    pve: PveBackend, tmp_path: Path
) -> None:
    pve.guest("plex").config["memory"] = 2048  # seeded with all of pve2's 8 GiB
    lab = make_lab(tmp_path, pve, "{auto_apply: true, prune: false}", web(replicas=3))
    plan = members(cli("plan", "--lab", str(lab)))
    assert sorted(plan) == ["web-1", "web-2", "web-3"]
    assert {c["op"] for c in plan.values()} == {"create"}
    assert [c["blocked"] for c in plan.values() if c["blocked"]] == []
    assert sorted(c["node"] for c in plan.values()) == ["pve1", "pve2", "pve3"]

    applied = RUNNER.invoke(app, ["apply", "--lab", str(lab), "--auto-approve"], catch_exceptions=False)
    assert applied.exit_code == 0, applied.output
    assert live(pve) == {name: c["node"] for name, c in plan.items()}
    vmids = {vm.name: vm.vmid for vm in pve.pve.vms if vm.name.startswith("web-")}
    assert len(set(vmids.values())) == 3

    # each member is observed on its own: a change made by hand to one shows as drift of that member only
    pve.guest("web-2").config["cores"] = 3
    again = members(cli("plan", "--lab", str(lab)))
    assert again["web-2"]["op"] == "update" and again["web-2"]["drift"]
    assert again["web-1"]["op"] == again["web-3"]["op"] == "noop"
    pve.guest("web-2").config["cores"] = 1

    # back to the default two members: web-3 goes, and only once prune is allowed
    commit(lab, {"resources/web.yaml": web()}, "two members")
    down = members(cli("plan", "--lab", str(lab)))
    assert down["web-3"]["op"] == "delete"
    assert "member 3 of web: high_availability now runs 2 members" in down["web-3"]["reason"]
    assert down["web-1"]["op"] == down["web-2"]["op"] == "noop"
    held = RUNNER.invoke(app, ["apply", "--lab", str(lab), "--auto-approve"], catch_exceptions=False)
    assert "prune is off" in held.output
    assert "web-3" in live(pve)
    commit(lab, {"homeport.yaml": pve.lab_yaml("{auto_apply: true, prune: true, max_prune_fraction: 0.5}")},
           "prune on")
    pruned = RUNNER.invoke(app, ["apply", "--lab", str(lab), "--auto-approve"], catch_exceptions=False)
    assert pruned.exit_code == 0, pruned.output
    assert sorted(live(pve)) == ["web-1", "web-2"]
    assert {n: vmids[n] for n in live(pve)} == {"web-1": vmids["web-1"], "web-2": vmids["web-2"]}


def test_a_member_without_a_node_of_its_own_is_held_back(pve: PveBackend, tmp_path: Path) -> None:
    # fakepve seeds plex on pve2, here with 6 GiB: 3 GiB members fit pve1 and pve3 (8 GiB, room for two each) but
    # not pve2; three nodes for three members, so the third waits rather than doubling up
    pve.guest("plex").config["memory"] = 6144
    lab = make_lab(tmp_path, pve, "{auto_apply: true, prune: false}", web(replicas=3, memory_gb=3))
    plan = members(cli("plan", "--lab", str(lab)))
    placed = {n: c["node"] for n, c in plan.items() if not c["blocked"]}
    held = [c for c in plan.values() if c["blocked"]]
    assert len(set(placed.values())) == len(placed) == 2, plan
    assert len(held) == 1
    assert "anti-affinity app=web" in held[0]["blocked"] and "3 members need 3 nodes" in held[0]["blocked"]
    result = RUNNER.invoke(app, ["apply", "--lab", str(lab), "--auto-approve"], catch_exceptions=False)
    assert result.exit_code == 4, result.output  # held back is not success
    assert live(pve) == placed
