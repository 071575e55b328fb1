"""The whole loop on fakepve and real SSH: plan -> apply -> configure -> no-op -> out-of-band change
-> deviation -> self-heal.

The lab is a real Git repository; plan and apply go through the `homeport` CLI, the unattended
runs through the reconcile phases as the daemon runs them. The guest's static cloud-init address
points at an sshd test host (127.0.0.11, port 2222 unless taken), so the chart's rendered playbook (proxmox-compute)
configures it over SSH with the same code path a real guest takes. fakepve's seeded guests are
not homeport's: listed as unmanaged, never touched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.source.gitrepo import commit_worktree, open_repo
from reconciler.source.scaffold import create_lab
from tests.backends.homeport_cli import auto_run, cli, open_deviations
from tests.backends.pve import TOKEN_ID_ENV, TOKEN_SECRET_ENV, PveBackend
from tests.backends.ssh import SshHosts

ROLES = Path(__file__).resolve().parents[1] / "ansible" / "roles"


def write_lab(source: Path, pve: PveBackend, ssh: SshHosts, marker_dir: Path, *, self_heal: bool) -> None:
    """A lab with one Proxmox provider (fakepve), one pool over its three nodes and one VM on pve1."""
    for folder in ("pools", "resources", "templates"):
        (source / folder).mkdir(parents=True, exist_ok=True)
    (source / "homeport.yaml").write_text(f"""\
apiVersion: homelab.ai/v1
kind: Lab
metadata: {{name: home}}
spec:
  providers:
    pve:
      type: proxmox
      endpoint: "{pve.url}"
      ca_file: "{pve.cafile}"
      nodes: [pve1, pve2, pve3]
      credentials: {{token_id_env: {TOKEN_ID_ENV}, token_secret_env: {TOKEN_SECRET_ENV},
                    ssh_key_file: "{ssh.private_key}"}}
      options: {{ci_user: {ssh.user}, task_poll: 0.05, task_timeout: 30,
                ssh_public_key_file: "{ssh.private_key}.pub", ansible_roles_paths: ["{ROLES}"]}}
  reconcile: {{auto_apply: true, self_heal: {str(self_heal).lower()}, prune: false, max_auto_risk: medium}}
""")
    (source / "pools" / "proxmox.yaml").write_text(f"""\
apiVersion: homelab.ai/v1
kind: ResourcePool
metadata: {{name: proxmox}}
spec:
  path: /infrastructure/proxmox
  provider: pve
  nodes: [pve1, pve2, pve3]
  properties:
    storage_pool: local-lvm
    network_bridge: vmbr0
    ssh_port: {ssh.hosts[0].port}
    ansible_python_interpreter: {ssh.python}
    ansible_become_method: su
""")
    (source / "templates" / "marker.yaml").write_text(f"""\
apiVersion: homelab.ai/v1
kind: DeploymentTemplate
metadata: {{name: marker}}
spec:
  template_type: vm
  configuration:
    playbooks: [{{name: marker, path: ansible/playbooks/homeport-test-marker.yml}}]
    variables: {{marker_dir: "{marker_dir}"}}
""")
    (source / "resources" / "web.yaml").write_text("""\
apiVersion: homelab.ai/v1
kind: UniversalResource
metadata: {name: web}
spec:
  resource_type: compute
  workload_type: web-app
  pool: /infrastructure/proxmox
  template: marker
  requirements: {cpu: 2, memory_gb: 2, storage_gb: 8}
  network: {ipv4: 127.0.0.11/8}
  placement: {node: pve1}
""")


def unmanaged(pve: PveBackend) -> dict[int, tuple[Any, ...]]:
    """What a change to the seeded guests would alter."""
    return {vm.vmid: (vm.status, dict(vm.config), vm.node) for vm in pve.pve.vms if vm.vmid in (150, 151, 9000)}


@pytest.mark.slow
def test_plan_apply_configure_noop_drift_deviation_self_heal(
    pve: PveBackend,
    ssh_hosts: SshHosts,
    tmp_path: Path,
) -> None:
    source, lab, markers = tmp_path / "source", tmp_path / "lab", tmp_path / "markers"
    markers.mkdir()
    write_lab(source, pve, ssh_hosts, markers, self_heal=False)
    create_lab(lab, example=source)
    untouched = unmanaged(pve)

    plan = cli("plan", "--lab", str(lab))
    [create] = plan["changes"]
    assert (create["op"], create["resource"], create["node"]) == ("create", "web", "pve1")
    assert sorted(plan["unmanaged"]) == [
        "pve/debian-12-cloud (qemu 9000)",
        "pve/plex (qemu 150)",
        "pve/scratch (qemu 151)",
    ]

    run = cli("apply", "--lab", str(lab), "--auto-approve")
    assert run["status"] == "ok", run
    assert [(o["op"], o["status"]) for o in run["outcomes"]] == [("create", "applied")]
    vm = pve.guest("web")
    assert vm.node == "pve1" and vm.status == "running"
    assert (str(vm.config["cores"]), str(vm.config["memory"])) == ("2", "2048")
    assert vm.config["ipconfig0"] == "ip=127.0.0.11/8"
    assert (markers / "web.txt").read_text() == "lab=home resource=web workload=web-app\n"

    noop = cli("plan", "--lab", str(lab))
    [same] = noop["changes"]
    assert same["op"] == "noop" and "matches" in same["reason"], same

    # Out of band, through the API: more cores.
    pve.guest("web").config["cores"] = 6
    drift = cli("plan", "--lab", str(lab))
    [update] = drift["changes"]
    assert (update["op"], update["drift"]) == ("update", True)
    assert [(f["path"], f["old"], f["new"]) for f in update["fields"]] == [("cores", 6, 2)]
    # Cores are not hot-pluggable: the running VM reboots for them, and the plan line says so before apply.
    assert update["reason"].endswith("; restarts it to change cores"), update["reason"]

    held = auto_run(lab)
    assert held.outcomes == []
    assert held.plan is not None and "self_heal is off" in (held.plan.changes[0].blocked or "")
    assert open_deviations(lab) == [("web", "cores")]
    [drifted] = cli("status", "--lab", str(lab))["instances"]
    assert (drifted["name"], drifted["matches"]) == ("web", False)
    assert str(pve.guest("web").config["cores"]) == "6"

    homeport_yaml = lab / "homeport.yaml"
    homeport_yaml.write_text(homeport_yaml.read_text().replace("self_heal: false", "self_heal: true"))
    commit_worktree(open_repo(lab), "self-heal on")
    healed = auto_run(lab)
    assert healed.status == "ok", healed.error
    assert [(o.change.op.value, o.status) for o in healed.outcomes] == [("update", "applied")]
    [outcome] = healed.outcomes
    assert outcome.result is not None and [(h.host, h.changed, h.failed) for h in outcome.result.hosts] == [
        ("web", 0, 0)
    ]
    assert str(pve.guest("web").config["cores"]) == "2" and pve.guest("web").status == "running"
    assert open_deviations(lab) == []

    final = cli("plan", "--lab", str(lab))
    assert [c["op"] for c in final["changes"]] == ["noop"]
    [status] = cli("status", "--lab", str(lab))["instances"]
    assert (status["provider"], status["node"], status["provider_id"], status["status"], status["matches"]) == (
        "pve",
        "pve1",
        str(vm.vmid),
        "running",
        True,
    )
    assert [h["host"] for h in status["configuration"]["hosts"]] == ["web"]
    assert [vm.vmid for vm in pve.pve.vms if vm.name == "web"] == [vm.vmid]
    assert unmanaged(pve) == untouched
    private_key = ssh_hosts.private_key.read_bytes()
    for path in [*(lab / ".homeport").rglob("*"), *(lab / "rendered-configs").rglob("*")]:
        if path.is_file():
            data = path.read_bytes()
            assert pve.token_secret.encode() not in data and private_key not in data, f"secret in {path}"


@pytest.fixture(autouse=True)
def _sqlite_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lab's own SQLite store (lab/.homeport/state.db), whatever the caller's environment says."""
    monkeypatch.delenv("HOMEPORT_DATABASE_URL", raising=False)
