"""Plans on vcsim, through the CLI, say what a VM is cloned from and which changes power-cycle it.

The create line names `clone_template` (plan-only: vSphere keeps no record of a VM's template, so the diff never
compares it) and the plans after apply are no-ops. vCPU changes restart a VM only where apply must power it
off: with CPU hot-add on, adding vCPUs to a powered-on VM is live, taking them away is not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pyVim.task import WaitForTask

from reconciler.source.gitrepo import commit_worktree, open_repo
from reconciler.source.scaffold import create_lab
from tests.backends.homeport_cli import cli
from tests.backends.vcsim import VcsimServer
from tests.providers.vmware.conftest import PASSWORD_ENV
from tests.providers.vmware.resources import one_vm

TEMPLATE = "DC0_H0_VM1"


def write_lab(folder: Path, server: VcsimServer, *, cpu: int, overrides: str) -> None:
    """A lab with vcsim, a pool on the standalone host DC0_H0 and one VM `web` with these overrides.vmware."""
    for sub in ("pools", "resources"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    (folder / "homeport.yaml").write_text(f"""\
apiVersion: homelab.ai/v1
kind: Lab
metadata: {{name: home}}
spec:
  providers:
    vsphere:
      type: vmware
      endpoint: "{server.endpoint}"
      ca_file: "{server.ca_file}"
      credentials: {{password_env: {PASSWORD_ENV}, username: {server.username}}}
      options: {{task_timeout: 60}}
""")
    (folder / "pools" / "vsphere.yaml").write_text("""\
apiVersion: homelab.ai/v1
kind: ResourcePool
metadata: {name: vsphere}
spec:
  path: /infrastructure/vsphere
  provider: vsphere
  nodes: [DC0_H0]
  properties: {datacenter: DC0, datastore: LocalDS_0, network: VM Network}
""")
    (folder / "resources" / "web.yaml").write_text(f"""\
apiVersion: homelab.ai/v1
kind: UniversalResource
metadata: {{name: web}}
spec:
  resource_type: compute
  workload_type: web-app
  pool: /infrastructure/vsphere
  requirements: {{cpu: {cpu}, memory_gb: 1}}
  overrides: {{vmware: {overrides}}}
""")


def plan_changes(lab: Path) -> list[dict[str, Any]]:
    """The plan's changes (JSON)."""
    changes: list[dict[str, Any]] = cli("plan", "--lab", str(lab))["changes"]
    return changes


@pytest.fixture
def lab(vcsim: VcsimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty lab folder; the vcsim password in the environment."""
    monkeypatch.setenv(PASSWORD_ENV, vcsim.password)
    return tmp_path / "lab"


def test_a_clone_names_its_template_and_the_plan_after_apply_is_a_no_op(
    vcsim: VcsimServer, vsphere: Any, lab: Path, tmp_path: Path
) -> None:
    source = one_vm(vsphere, TEMPLATE)
    WaitForTask(source.PowerOffVM_Task())
    source.MarkAsTemplate()
    write_lab(tmp_path / "source", vcsim, cpu=1, overrides=f"{{clone_template: {TEMPLATE}}}")
    create_lab(lab, example=tmp_path / "source")

    [create] = plan_changes(lab)
    assert create["op"] == "create" and f"create with clone_template {TEMPLATE}" in create["reason"], create
    run = cli("apply", "--lab", str(lab), "--auto-approve")
    assert run["status"] == "ok", run
    assert f"clone: {TEMPLATE}" in run["outcomes"][0]["message"], run
    for _ in range(2):
        [same] = plan_changes(lab)
        assert same["op"] == "noop", (same["reason"], same["fields"])


def test_vcpus_restart_the_vm_only_where_hot_add_cannot_apply_them(
    vcsim: VcsimServer, vsphere: Any, lab: Path, tmp_path: Path
) -> None:
    hot = "{cpu_hot_add: true, memory_hot_add: true}"
    write_lab(tmp_path / "source", vcsim, cpu=1, overrides=hot)
    create_lab(lab, example=tmp_path / "source")
    assert cli("apply", "--lab", str(lab), "--auto-approve")["status"] == "ok"
    assert one_vm(vsphere, "web").config.cpuHotAddEnabled is True

    write_lab(lab, vcsim, cpu=2, overrides=hot)
    commit_worktree(open_repo(lab), "two vCPUs")
    [more] = plan_changes(lab)
    assert (more["op"], more["reason"]) == ("update", "num_cpus 1 -> 2"), more
    added = cli("apply", "--lab", str(lab), "--auto-approve")
    assert "power" not in added["outcomes"][0]["message"], added  # hot-added

    write_lab(lab, vcsim, cpu=1, overrides=hot)
    commit_worktree(open_repo(lab), "back to one vCPU")
    [fewer] = plan_changes(lab)
    assert fewer["reason"] == "num_cpus 2 -> 1; restarts it to change num_cpus", fewer
    removed = cli("apply", "--lab", str(lab), "--auto-approve")
    assert "power_off" in removed["outcomes"][0]["message"], removed
    assert one_vm(vsphere, "web").runtime.powerState == "poweredOn"
    assert [c["op"] for c in plan_changes(lab)] == ["noop"]
