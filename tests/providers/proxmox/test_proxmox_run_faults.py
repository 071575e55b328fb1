"""Faults through the reconcile phases: a 500 on create and a locked guest are retried across runs,
recorded with their cause, and never make a second VM."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from reconciler.models.plan import Mode
from reconciler.phases.context import LabSession
from reconciler.phases.run import RunResult, reconcile
from reconciler.source.scaffold import create_lab
from reconciler.store.instances import list_instances
from reconciler.store.tables import DeploymentInstanceRow
from tests.backends.pve import PVE_POOL_WITH_DEFAULTS, PveBackend


def write_lab(source: Path, pve: PveBackend) -> None:
    """One Proxmox provider (fakepve), self-heal on, one VM on pve1 without configuration."""
    for folder in ("pools", "resources"):
        (source / folder).mkdir(parents=True, exist_ok=True)
    (source / "homeport.yaml").write_text(
        pve.lab_yaml("{auto_apply: true, self_heal: true, prune: false, max_auto_risk: medium}", nodes=False)
    )
    (source / "pools" / "proxmox.yaml").write_text(PVE_POOL_WITH_DEFAULTS)
    (source / "resources" / "web.yaml").write_text("""\
apiVersion: homelab.ai/v1
kind: UniversalResource
metadata: {name: web}
spec:
  pool: /infrastructure/proxmox
  requirements: {cpu: 2, memory_gb: 2, storage_gb: 8}
  placement: {node: pve1}
""")


def run_at(lab: Path, when: datetime) -> RunResult:
    """One unattended run at a given time (no real sleeping between retries)."""
    session = LabSession.open(
        lab, actor="test-daemon", actor_kind="daemon", clock=lambda: when, sleep=lambda seconds: None
    )
    try:
        return reconcile(session, mode=Mode.auto, trigger="test")
    finally:
        session.close()


def instance(lab: Path) -> DeploymentInstanceRow:
    """The one instance row of lab `home`."""
    session = LabSession.open(lab)
    try:
        [found] = list_instances(session.db, "home")
        return found
    finally:
        session.close()


def test_500_on_create_then_a_locked_guest_across_runs(pve: PveBackend, tmp_path: Path) -> None:
    source, lab = tmp_path / "source", tmp_path / "lab"
    write_lab(source, pve)
    create_lab(lab, example=source)
    now = datetime.now(UTC)

    pve.pve.fail("POST", "/nodes/pve1/qemu", 500, "got signal (unexpected error) - abort", times=3)
    first = run_at(lab, now)
    [failed] = first.outcomes
    assert (failed.status, failed.error_kind) == ("failed", "transient")
    assert "500 got signal (unexpected error) - abort" in failed.message
    assert pve.guest("web") is None
    assert "got signal" in (instance(lab).error_message or "")

    second = run_at(lab, now + timedelta(hours=1))
    assert [(o.change.op.value, o.status) for o in second.outcomes] == [("create", "applied")]
    vm = pve.guest("web")
    assert [v.vmid for v in pve.pve.vms if v.name == "web"] == [vm.vmid]

    # A backup holds the guest while someone changed it out of band: self-heal waits, then converges.
    vm.config["memory"] = 4096
    pve.pve.snapshot_lock(vm.vmid, "backup")
    third = run_at(lab, now + timedelta(hours=2))
    [locked] = third.outcomes
    assert (locked.status, locked.error_kind) == ("failed", "transient")
    assert "is locked (backup)" in locked.message
    pve.pve.unlock(vm.vmid)
    fourth = run_at(lab, now + timedelta(hours=3))
    assert [(o.change.op.value, o.status) for o in fourth.outcomes] == [("update", "applied")]
    assert str(pve.guest("web").config["memory"]) == "2048"
    assert [v.vmid for v in pve.pve.vms if v.name == "web"] == [vm.vmid]
