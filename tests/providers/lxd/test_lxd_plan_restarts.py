"""A plain `homeport plan` line says which changes restart an LXD instance: a VM's cpu, memory, root disk and
GPU take effect at its next boot (homeport restarts it), a container takes its limits live and restarts only
for nesting. The rules come from the provider per resource (LxdProvider.diff_rules_for, used by the diff phase).

Containers are planned and applied on the real daemon through the CLI. LXD VMs cannot run here ("vhost_vsock
kernel module not loaded"), so a VM is planned through the diff phase (plan_lab, with the lab's real session and
provider) against the observation LXD gives for the VM the chart renders, with the live limits changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from reconciler.cli import app
from reconciler.models.effective import EffectiveResource
from reconciler.models.inventory import Inventory, NodeFacts, ObservedResource
from reconciler.phases.context import LabSession
from reconciler.phases.diff import plan_lab
from reconciler.phases.load import load_main_revision
from reconciler.phases.observe import Observation
from reconciler.providers.lxd.facts import parse_instances
from reconciler.providers.lxd.fields import DIFF_RULES, RESTART_FIELDS, instance_request, rules_for
from reconciler.providers.lxd.observe import resource_for
from reconciler.source.gitrepo import commit_worktree, open_repo
from reconciler.source.scaffold import create_lab
from tests.backends.homeport_cli import cli
from tests.backends.lxd import BUSYBOX, VM_SHAPE, LxdDaemon
from tests.providers.lxd.resources import render

LAB_YAML = """\
apiVersion: homelab.ai/v1
kind: Lab
metadata: {{name: home}}
spec:
  providers:
    lxd: {{type: lxd, endpoint: "{endpoint}", nodes: [lxd1], options: {{operation_timeout: 2m}}}}
"""
POOL_YAML = """\
apiVersion: homelab.ai/v1
kind: ResourcePool
metadata: {{name: lxd}}
spec:
  path: /infrastructure/lxd
  provider: lxd
  nodes: [lxd1]
  properties: {{image: {image}, image_server: null, network: null, nesting: {nesting}}}
"""
RESOURCE_YAML = """\
apiVersion: homelab.ai/v1
kind: UniversalResource
metadata: {{name: {name}}}
spec:
  resource_type: {kind}
  workload_type: general
  pool: /infrastructure/lxd
  requirements: {{cpu: {cpu}, memory_gb: {memory_gb}, storage_gb: {storage_gb}}}
"""


def write_lab(source: Path, endpoint: str, *, image: str, kind: str, nesting: bool = False, **size: Any) -> None:
    """A lab with one LXD provider, one pool and one resource `r1` of the given kind and size."""
    for folder in ("pools", "resources"):
        (source / folder).mkdir(parents=True, exist_ok=True)
    (source / "homeport.yaml").write_text(LAB_YAML.format(endpoint=endpoint))
    (source / "pools" / "lxd.yaml").write_text(POOL_YAML.format(image=image, nesting=str(nesting).lower()))
    sizes = {"cpu": 1, "memory_gb": 0.25, "storage_gb": 1, **size}
    (source / "resources" / "r1.yaml").write_text(RESOURCE_YAML.format(name="r1", kind=kind, **sizes))


def edit(lab: Path, message: str, **changes: Any) -> None:
    """Rewrite the lab's pool and resource with new values and commit."""
    write_lab(lab, **changes)
    commit_worktree(open_repo(lab), message)


def plain_plan(lab: Path) -> str:
    """`homeport plan` as a person reads it (text output)."""
    result = CliRunner().invoke(app, ["plan", "--lab", str(lab)], env={"NO_COLOR": "1", "COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    return result.output


# ------------------------------------------------------------------ the rules (pure)


@pytest.mark.parametrize(
    ("kind", "status", "restarts"),
    [
        ("container", "running", ["nesting"]),
        ("container", None, ["nesting"]),
        ("virtual-machine", "running", ["cpu", "memory_mb", "root_gb", "gpu_count"]),
        ("virtual-machine", "stopped", []),  # a stopped instance takes its config when it next starts
        ("virtual-machine", "frozen", []),
        ("container", "stopped", []),
    ],
)
def test_restart_rules_per_instance_type_and_state(kind: str, status: str | None, restarts: list[str]) -> None:
    rules = rules_for(kind, status)
    assert rules.restart_fields == restarts
    # Everything else is the provider's rules, unchanged.
    assert rules.model_dump(exclude={"restart_fields"}) == DIFF_RULES.model_dump(exclude={"restart_fields"})
    assert DIFF_RULES.restart_fields == []
    assert set(RESTART_FIELDS) == {"container", "virtual-machine"}


# ------------------------------------------------------------------ a VM, through the diff phase


def vm_observation(res: EffectiveResource, live: dict[str, Any], *, status: str) -> Observation:
    """What LXD would list for the VM the chart renders for res, with `live` config keys and root size in place."""
    request = instance_request(render(res), "r1")
    config = {**request["config"], **{k: v for k, v in live.items() if k != "root"}}
    devices = {**request["devices"], "root": {**request["devices"]["root"], "size": live.get("root", "4GiB")}}
    item = {**request, "status": status, "config": config, "devices": devices, "expanded_config": config,
            "expanded_devices": devices}
    [inst] = parse_instances([item])
    observed: ObservedResource = resource_for(inst, "lxd", "lxd1")
    assert observed.owned and observed.lab == res.lab and observed.kind == "virtual-machine"
    inventory = Inventory(provider="lxd", provider_type="lxd", nodes=[NodeFacts(name="lxd1", provider="lxd")],
                          resources=[observed])
    return Observation(inventories={"lxd": inventory})


def test_a_plain_plan_says_a_vm_restarts_for_its_limits(tmp_path: Path) -> None:
    source, lab = tmp_path / "source", tmp_path / "lab"
    # The provider is never contacted here: the observation is given, the rules and fields are pure.
    write_lab(source, f"unix://{tmp_path / 'no-daemon.socket'}", image=VM_SHAPE, kind="compute",
              cpu=4, memory_gb=2, storage_gb=8)
    create_lab(lab, example=source)
    session = LabSession.open(lab)
    try:
        _, state = load_main_revision(session)
        live = {"limits.cpu": "2", "limits.memory": "1024MiB", "root": "4GiB"}
        running = plan_lab(session, state, vm_observation(state.effective["r1"], live, status="Running"), {})
        [change] = running.changes
        assert change.op.value == "update", change
        assert [(f.path, f.old, f.new) for f in change.fields] == [("cpu", 2, 4), ("memory_mb", 1024, 2048),
                                                                   ("root_gb", 4, 8)]
        assert change.reason == ("cpu 2 -> 4; memory_mb 1024 -> 2048; root_gb 4 -> 8; "
                                 "restarts it to change cpu, memory_mb, root_gb"), change.reason

        stopped = plan_lab(session, state, vm_observation(state.effective["r1"], live, status="Stopped"), {})
        [held] = stopped.changes
        assert held.op.value == "update" and "restart" not in held.reason, held.reason
    finally:
        session.close()


# ------------------------------------------------------------------ a container, on the real daemon


def test_a_plain_plan_says_a_container_restarts_only_for_nesting(lxd: LxdDaemon, tmp_path: Path) -> None:
    source, lab = tmp_path / "source", tmp_path / "lab"
    write_lab(source, lxd.endpoint, image=BUSYBOX, kind="container")
    create_lab(lab, example=source)
    run = cli("apply", "--lab", str(lab), "--auto-approve")
    assert run["status"] == "ok", run
    assert lxd.config("r1", "limits.memory") == "256MiB"

    edit(lab, "more memory", endpoint=lxd.endpoint, image=BUSYBOX, kind="container", cpu=2, memory_gb=0.5)
    [live] = cli("plan", "--lab", str(lab))["changes"]
    assert live["op"] == "update" and live["reason"] == "cpu 1 -> 2; memory_mb 256 -> 512", live
    assert "restart" not in plain_plan(lab)

    edit(lab, "nesting", endpoint=lxd.endpoint, image=BUSYBOX, kind="container", nesting=True, cpu=2, memory_gb=0.5)
    [slow] = cli("plan", "--lab", str(lab))["changes"]
    assert slow["reason"].endswith("; restarts it to change nesting"), slow
    text = plain_plan(lab)
    assert "restarts it to change nesting" in text and "to change cpu" not in text, text

    applied = cli("apply", "--lab", str(lab), "--auto-approve")
    assert applied["status"] == "ok", applied
    [outcome] = applied["outcomes"]
    assert "restarted (nesting take effect at start)" in str(outcome), outcome
    assert (lxd.config("r1", "limits.memory"), lxd.config("r1", "security.nesting")) == ("512MiB", "true")
    assert [c["op"] for c in cli("plan", "--lab", str(lab))["changes"]] == ["noop"]
    lxd.wipe()
