"""Plans on fakepve name what a guest is made from and which changes reboot it, with no false drift.

A VM cloned from the seeded template and a container made from an OS template, through the CLI: the create
lines name `clone_template` and `ostemplate` (plan-only fields: PVE keeps no record of them, so the diff never
compares them), the plans after apply are no-ops, and a later change of template is no drift. More cores
reboot the running VM (the plan line says so before apply does it) and apply live on the container.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.source.gitrepo import commit_worktree, open_repo
from reconciler.source.scaffold import create_lab
from tests.backends.homeport_cli import cli
from tests.backends.pve import TEMPLATE_NAME, PveBackend

OSTEMPLATE = "local:vztmpl/debian-12.tar.zst"
POOL = """\
apiVersion: homelab.ai/v1
kind: ResourcePool
metadata: {{name: proxmox}}
spec:
  path: /infrastructure/proxmox
  provider: pve
  nodes: [pve1, pve2, pve3]
  properties: {{storage_pool: local-lvm, network_bridge: vmbr0, clone_template: {clone}, ostemplate: "{ostemplate}"}}
"""
RESOURCE = """\
apiVersion: homelab.ai/v1
kind: UniversalResource
metadata: {{name: {name}}}
spec:
  resource_type: {kind}
  workload_type: general
  pool: /infrastructure/proxmox
  requirements: {{cpu: {cpu}, memory_gb: 1, storage_gb: {disk}}}
  placement: {{node: pve1}}
"""


def write_lab(folder: Path, pve: PveBackend, *, clone: str = TEMPLATE_NAME, cpu: int = 1) -> None:
    """A lab with the fake PVE, a pool naming a clone template and an OS template, a VM and a container."""
    for sub in ("pools", "resources"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    (folder / "homeport.yaml").write_text(pve.lab_yaml())
    (folder / "pools" / "proxmox.yaml").write_text(POOL.format(clone=clone, ostemplate=OSTEMPLATE))
    # The VM keeps the template's 4 GiB disk (fakepve does not implement growing a QEMU disk).
    (folder / "resources" / "app.yaml").write_text(RESOURCE.format(name="app", kind="compute", cpu=cpu, disk=4))
    (folder / "resources" / "dns.yaml").write_text(RESOURCE.format(name="dns", kind="container", cpu=cpu, disk=8))


def test_create_lines_name_the_template_and_the_plans_after_apply_are_no_ops(pve: PveBackend, tmp_path: Path) -> None:
    pve.pve.store_file("local", "debian-12.tar.zst", 1024, content="vztmpl")
    source, lab = tmp_path / "source", tmp_path / "lab"
    write_lab(source, pve)
    create_lab(lab, example=source)

    plan = cli("plan", "--lab", str(lab))
    reasons = {c["resource"]: (c["op"], c["reason"]) for c in plan["changes"]}
    assert reasons["app"][0] == "create" and f"create with clone_template {TEMPLATE_NAME}" in reasons["app"][1]
    assert reasons["dns"][0] == "create" and f"create with ostemplate {OSTEMPLATE}" in reasons["dns"][1]

    run = cli("apply", "--lab", str(lab), "--auto-approve")
    assert run["status"] == "ok", run
    assert ("POST", "/api2/json/nodes/pve1/qemu/9000/clone") in pve.requests_since(0)
    assert pve.guest("app").status == "running"

    for _ in range(2):
        again = cli("plan", "--lab", str(lab))
        assert [(c["resource"], c["op"]) for c in again["changes"]] == [("app", "noop"), ("dns", "noop")], [
            (c["reason"], c["fields"]) for c in again["changes"]
        ]
        assert again["summary"]["has_changes"] is False

    # Another template only matters for guests created from now on: no drift for the running ones.
    write_lab(lab, pve, clone="9000")
    commit_worktree(open_repo(lab), "clone by VMID")
    assert [c["op"] for c in cli("plan", "--lab", str(lab))["changes"]] == ["noop", "noop"]

    # More cores: the running VM reboots for them, the container takes them live.
    write_lab(lab, pve, clone="9000", cpu=2)
    commit_worktree(open_repo(lab), "two cores")
    bigger = {c["resource"]: c["reason"] for c in cli("plan", "--lab", str(lab))["changes"]}
    assert bigger == {"app": "cores 1 -> 2; restarts it to change cores", "dns": "cores 1 -> 2"}, bigger
    applied = cli("apply", "--lab", str(lab), "--auto-approve")
    assert applied["status"] == "ok", applied
    messages = {o["resource"]: str(o) for o in applied["outcomes"]}
    assert "rebooted to apply pending changes" in messages["app"], messages
    assert "reboot" not in messages["dns"], messages
    assert [c["op"] for c in cli("plan", "--lab", str(lab))["changes"]] == ["noop", "noop"]
