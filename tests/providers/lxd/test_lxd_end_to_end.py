"""The whole loop on a real LXD daemon and a real container: plan -> apply -> Ansible over SSH -> no-op ->
limits.memory changed out of band -> deviation -> self-heal. An unmanaged instance is listed, never touched.

The lab is a real Git repository; plan and apply go through the `homeport` CLI, the unattended runs through
the reconcile phases as the daemon runs them. The container (Debian, sshd) gets the inner end of a veth pair
the test makes (10.203.0.2/24; the host end keeps 10.203.0.1), so Ansible reaches it over SSH.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from reconciler.source.gitrepo import commit_worktree, open_repo
from reconciler.source.scaffold import create_lab
from tests.backends.homeport_cli import auto_run, cli, open_deviations
from tests.backends.lxd import BUSYBOX, DEBIAN, LxdDaemon, VethPair, veth_pair

ROLES = Path(__file__).resolve().parents[1] / "ansible" / "roles"


def write_lab(source: Path, lxd: LxdDaemon, pair: VethPair, key: Path, *, self_heal: bool) -> None:
    """A lab with one LXD provider (the test daemon), one pool and one Debian container configured by Ansible."""
    for folder in ("pools", "resources", "templates"):
        (source / folder).mkdir(parents=True, exist_ok=True)
    (source / "homeport.yaml").write_text(f"""\
apiVersion: homelab.ai/v1
kind: Lab
metadata: {{name: home}}
spec:
  providers:
    lxd:
      type: lxd
      endpoint: "{lxd.endpoint}"
      nodes: [lxd1]
      credentials: {{ssh_key_file: "{key}"}}
      options: {{operation_timeout: 2m, ansible_roles_paths: ["{ROLES}"]}}
  reconcile: {{auto_apply: true, self_heal: {str(self_heal).lower()}, prune: false, max_auto_risk: medium}}
""")
    (source / "pools" / "lxd.yaml").write_text(f"""\
apiVersion: homelab.ai/v1
kind: ResourcePool
metadata: {{name: lxd}}
spec:
  path: /infrastructure/lxd
  provider: lxd
  nodes: [lxd1]
  properties:
    image: {DEBIAN}
    image_server: null
    network: null
    nic_type: physical
    nic_parent: {pair.inner}
    nesting: false
    ansible_become_method: su
""")
    (source / "templates" / "marker.yaml").write_text("""\
apiVersion: homelab.ai/v1
kind: DeploymentTemplate
metadata: {name: marker}
spec:
  template_type: container
  configuration:
    playbooks: [{name: marker, path: ansible/playbooks/homeport-test-marker.yml}]
    variables: {marker_dir: /root}
""")
    (source / "resources" / "web.yaml").write_text(f"""\
apiVersion: homelab.ai/v1
kind: UniversalResource
metadata: {{name: web}}
spec:
  resource_type: container
  workload_type: web-app
  pool: /infrastructure/lxd
  template: marker
  requirements: {{cpu: 1, memory_gb: 0.5, storage_gb: 2}}
  network: {{ipv4: {pair.guest_address}/{pair.prefix}}}
""")


def stranger_view(lxd: LxdDaemon) -> tuple[str, str]:
    """The unmanaged instance's state and its own config without volatile keys."""
    status = lxd.lxc("list", "stranger", "-c", "s", "--format", "csv").stdout.strip()
    config = "\n".join(
        line for line in lxd.lxc("config", "show", "stranger").stdout.splitlines() if "volatile." not in line
    )
    return status, config


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_plan_apply_configure_noop_drift_deviation_self_heal(lxd: LxdDaemon, tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    lxd.lxc("launch", BUSYBOX, "stranger", "-c", "limits.memory=64MiB")
    untouched = stranger_view(lxd)
    with veth_pair(0) as pair:
        source, lab = tmp_path / "source", tmp_path / "lab"
        write_lab(source, lxd, pair, key, self_heal=False)
        create_lab(lab, example=source)

        plan = cli("plan", "--lab", str(lab))
        [create] = plan["changes"]
        assert (create["op"], create["resource"], create["node"]) == ("create", "web", "lxd1")
        assert plan["unmanaged"] == ["lxd/stranger (container)"]

        run = cli("apply", "--lab", str(lab), "--auto-approve")
        assert run["status"] == "ok", run
        assert [(o["op"], o["status"]) for o in run["outcomes"]] == [("create", "applied")]
        assert lxd.lxc("list", "web", "-c", "s", "--format", "csv").stdout.strip() == "RUNNING"
        assert (lxd.config("web", "limits.memory"), lxd.config("web", "limits.cpu")) == ("512MiB", "1")
        assert lxd.lxc("exec", "web", "--", "cat", "/root/web.txt").stdout == "lab=home resource=web workload=web-app\n"

        noop = cli("plan", "--lab", str(lab))
        [same] = noop["changes"]
        assert same["op"] == "noop" and "matches" in same["reason"], same

        # Out of band, through LXD: more memory.
        lxd.lxc("config", "set", "web", "limits.memory", "1GiB")
        drift = cli("plan", "--lab", str(lab))
        [update] = drift["changes"]
        assert (update["op"], update["drift"]) == ("update", True)
        assert [(f["path"], f["old"], f["new"]) for f in update["fields"]] == [("memory_mb", 1024, 512)]

        held = auto_run(lab)
        assert held.outcomes == []
        assert held.plan is not None and "self_heal is off" in (held.plan.changes[0].blocked or "")
        assert open_deviations(lab) == [("web", "memory_mb")]
        assert lxd.config("web", "limits.memory") == "1GiB"

        homeport_yaml = lab / "homeport.yaml"
        homeport_yaml.write_text(homeport_yaml.read_text().replace("self_heal: false", "self_heal: true"))
        commit_worktree(open_repo(lab), "self-heal on")
        healed = auto_run(lab)
        assert healed.status == "ok", healed.error
        assert [(o.change.op.value, o.status) for o in healed.outcomes] == [("update", "applied")]
        [outcome] = healed.outcomes
        assert outcome.result is not None
        assert [(h.host, h.changed, h.failed) for h in outcome.result.hosts] == [("web", 0, 0)]
        assert "restart" not in outcome.result.message  # limits.memory applies live on a container
        assert lxd.config("web", "limits.memory") == "512MiB"
        assert open_deviations(lab) == []

        final = cli("plan", "--lab", str(lab))
        assert [c["op"] for c in final["changes"]] == ["noop"]
        [status] = cli("status", "--lab", str(lab))["instances"]
        assert (status["provider"], status["node"], status["provider_id"], status["status"], status["matches"]) == (
            "lxd",
            "lxd1",
            "web",
            "running",
            True,
        )
        assert lxd.names() == ["stranger", "web"]
        assert stranger_view(lxd) == untouched
        private_key = key.read_bytes()
        for path in [*(lab / ".homeport").rglob("*"), *(lab / "rendered-configs").rglob("*")]:
            if path.is_file():
                assert private_key not in path.read_bytes(), f"private key in {path}"
        lxd.wipe()
