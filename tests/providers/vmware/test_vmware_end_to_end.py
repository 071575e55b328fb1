"""The whole loop on vcsim: plan -> apply -> no-op -> out-of-band CPU change -> deviation -> self-heal.

The lab is a real Git repository made by `create_lab`; plan and apply go through the `homeport`
CLI, the unattended runs through the reconcile phases as the daemon runs them. vcsim's four
model VMs are not homeport's: they must be listed as unmanaged and never touched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.source.gitrepo import commit_worktree, open_repo
from reconciler.source.scaffold import create_lab
from tests.backends.homeport_cli import auto_run, cli, open_deviations
from tests.backends.vcsim import VcsimServer
from tests.providers.vmware.conftest import PASSWORD_ENV
from tests.providers.vmware.resources import one_vm, reconfigure, vms_named

UNMANAGED = ["DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1", "DC0_H0_VM0", "DC0_H0_VM1"]


def write_lab(source: Path, server: VcsimServer, *, self_heal: bool) -> None:
    """A lab with one vSphere provider (vcsim), one pool on its cluster and one VM.

    vcsim hosts have 2 cores and 4 GiB: the planner places only what fits their free capacity.
    """
    (source / "pools").mkdir(parents=True, exist_ok=True)
    (source / "resources").mkdir(exist_ok=True)
    (source / "homeport.yaml").write_text(f"""\
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
  reconcile: {{auto_apply: true, self_heal: {str(self_heal).lower()}, prune: false, max_auto_risk: medium}}
""")
    (source / "pools" / "vsphere.yaml").write_text("""\
apiVersion: homelab.ai/v1
kind: ResourcePool
metadata: {name: vsphere}
spec:
  path: /infrastructure/vsphere
  provider: vsphere
  nodes: [DC0_C0_H0, DC0_C0_H1, DC0_C0_H2]
  properties: {datacenter: DC0, datastore: LocalDS_0, network: VM Network}
""")
    (source / "resources" / "web.yaml").write_text("""\
apiVersion: homelab.ai/v1
kind: UniversalResource
metadata: {name: web}
spec:
  resource_type: compute
  workload_type: web-app
  pool: /infrastructure/vsphere
  requirements: {cpu: 1, memory_gb: 2, storage_gb: 8, disks: [{name: data, size: 4}]}
  overrides: {vmware: {annotation: "web front end"}}
""")


def unmanaged_state(si: Any) -> dict[str, tuple[Any, ...]]:
    """What a change to the unmanaged VMs would alter."""
    state = {}
    for name in UNMANAGED:
        vm = one_vm(si, name)
        state[name] = (
            vm.config.hardware.numCPU,
            vm.config.hardware.memoryMB,
            vm.config.annotation,
            vm.runtime.powerState,
            [c.value for c in vm.customValue],
        )
    return state


def test_plan_apply_noop_drift_deviation_self_heal(
    vcsim: VcsimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vsphere: Any
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, vcsim.password)
    source, lab = tmp_path / "source", tmp_path / "lab"
    write_lab(source, vcsim, self_heal=False)
    create_lab(lab, example=source)
    untouched = unmanaged_state(vsphere)

    plan = cli("plan", "--lab", str(lab))
    [create] = plan["changes"]
    assert (create["op"], create["resource"], create["risk"]) == ("create", "web", "medium")
    assert create["node"] in {"DC0_C0_H0", "DC0_C0_H1", "DC0_C0_H2"}
    assert sorted(u.split(" (")[0] for u in plan["unmanaged"]) == [f"vsphere/{n}" for n in UNMANAGED]
    assert all(" (vm vm-" in u for u in plan["unmanaged"]), plan["unmanaged"]

    run = cli("apply", "--lab", str(lab), "--auto-approve")
    assert run["status"] == "ok", run
    assert [(o["op"], o["status"]) for o in run["outcomes"]] == [("create", "applied")]
    vm = one_vm(vsphere, "web")
    assert vm.runtime.host.name == create["node"]
    assert (vm.config.hardware.numCPU, vm.config.hardware.memoryMB) == (1, 2048)
    assert vm.config.annotation == "web front end\nhomeport.managed-by=homeport lab=home resource=web"

    noop = cli("plan", "--lab", str(lab))
    [same] = noop["changes"]
    assert same["op"] == "noop" and "matches" in same["reason"], same
    assert noop["summary"]["has_changes"] is False

    reconfigure(vm, numCPUs=4)
    drift = cli("plan", "--lab", str(lab))
    [update] = drift["changes"]
    assert (update["op"], update["drift"]) == ("update", True)
    assert [(f["path"], f["old"], f["new"]) for f in update["fields"]] == [("num_cpus", 4, 1)]
    # Taking vCPUs from a powered-on VM needs it powered off: the plan line says so before apply does it.
    assert update["reason"].endswith("; restarts it to change num_cpus"), update["reason"]

    # self_heal off: the unattended run holds the change back and records the deviation.
    held = auto_run(lab)
    assert [o.status for o in held.outcomes] == []
    assert held.plan is not None and "self_heal is off" in (held.plan.changes[0].blocked or "")
    assert open_deviations(lab) == [("web", "num_cpus")]
    assert vm.config.hardware.numCPU == 4

    # Turn self-heal on in Git; the next unattended run repairs the VM and closes the deviation.
    homeport_yaml = lab / "homeport.yaml"
    homeport_yaml.write_text(homeport_yaml.read_text().replace("self_heal: false", "self_heal: true"))
    commit_worktree(open_repo(lab), "self-heal on")
    healed = auto_run(lab)
    assert healed.status == "ok", healed.error
    assert [(o.change.op.value, o.status) for o in healed.outcomes] == [("update", "applied")]
    assert vm.config.hardware.numCPU == 1 and vm.runtime.powerState == "poweredOn"
    assert open_deviations(lab) == []

    final = cli("plan", "--lab", str(lab))
    assert [c["op"] for c in final["changes"]] == ["noop"]
    assert len(vms_named(vsphere, "web")) == 1
    assert unmanaged_state(vsphere) == untouched
