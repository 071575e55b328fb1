"""Policies under the daemon's auto mode: windows, pause, self-heal, transient backoff across runs, failures."""

from __future__ import annotations

from sqlalchemy import select

from reconciler.models.plan import Mode
from reconciler.phases.context import LabSession
from reconciler.phases.run import reconcile
from reconciler.providers.sim.drift import cause_drift
from reconciler.store.deviations import list_open_deviations
from reconciler.store.instances import list_instances
from reconciler.store.provider_state import DbProviderState
from reconciler.store.tables import AuditLogRow, ReconcileRunRow
from tests.daemon.conftest import FakeClock
from tests.daemon.labrepo import LabRepo, lab_yaml


def _audit(session: LabSession, action: str) -> list[AuditLogRow]:
    with session.db.session() as s:
        return list(s.execute(select(AuditLogRow).where(AuditLogRow.action == action)
                              .order_by(AuditLogRow.seq)).scalars())


def _status(session: LabSession) -> dict[str, str]:
    return {i.name: i.status for i in list_instances(session.db, "home")}


def test_deny_window_plans_and_records_but_applies_nothing(lab: LabRepo, session: LabSession,
                                                          clock: FakeClock) -> None:
    window = "    windows: [{deny: '0 12 * * *', duration: 2h, timezone: Europe/Berlin}]"
    lab.commit({"homeport.yaml": lab_yaml(extra=window).encode()})
    clock.now = clock.now.replace(hour=11, minute=30)  # 12:30 in Berlin: inside the deny window
    result = reconcile(session, mode=Mode.auto, trigger="schedule")
    assert result.status == "ok"
    assert result.counts["applied"] == 0 and result.counts["blocked"] == 3
    assert all("deny window" in (c.blocked or "") for c in result.plan.changes)  # type: ignore[union-attr]
    assert set(_status(session).values()) == {"pending"}
    assert len(_audit(session, "create-skipped")) == 3
    reconcile(session, mode=Mode.auto, trigger="schedule")
    assert len(_audit(session, "create-skipped")) == 3, "an unchanged skip is recorded once, not every run"
    clock.advance(hours=2)  # 14:30 in Berlin: the window has closed
    result = reconcile(session, mode=Mode.auto, trigger="schedule")
    assert result.counts["applied"] == 3
    assert set(_status(session).values()) == {"running"}


def test_paused_lab_applies_nothing(lab: LabRepo, session: LabSession) -> None:
    lab.commit({"homeport.yaml": lab_yaml(extra="    paused: true").encode()})
    result = reconcile(session, mode=Mode.auto)
    assert result.counts["applied"] == 0
    assert {c.blocked for c in result.plan.changes} == {"reconcile is paused (reconcile.paused: true)"}  # type: ignore[union-attr]


def test_drift_is_reported_not_repaired_until_self_heal(lab: LabRepo, session: LabSession,
                                                       clock: FakeClock) -> None:
    assert reconcile(session, mode=Mode.auto).counts["applied"] == 3
    cause_drift(DbProviderState(session.db, "home", "lab"), "vm-1", {"cpu": 7})
    clock.advance(minutes=5)
    result = reconcile(session, mode=Mode.auto)
    assert result.counts["applied"] == 0 and result.counts["drifted"] == 1
    devs = list_open_deviations(session.db, "home")
    assert [(d.resource, d.field_path, d.expected_value, d.actual_value) for d in devs] == [("vm-1", "cpu", 1, 7)]
    first_seen = devs[0].detected_at
    clock.advance(minutes=5)
    reconcile(session, mode=Mode.auto)
    devs = list_open_deviations(session.db, "home")
    assert devs[0].detected_at == first_seen and devs[0].last_seen_at > first_seen
    lab.commit({"resources/vm-1.yaml": b"apiVersion: homelab.ai/v1\nkind: UniversalResource\nmetadata: {name: vm-1}\n"
                b"spec:\n  pool: /sim/compute\n  requirements: {cpu: 1, memory_gb: 1, storage_gb: 10}\n"
                b"  sync: {self_heal: true}\n"})
    result = reconcile(session, mode=Mode.auto)
    assert result.counts["applied"] == 1
    assert list_open_deviations(session.db, "home") == []
    assert DbProviderState(session.db, "home", "lab").get("machine/vm-1")["fields"]["cpu"] == 1  # type: ignore[index]


def test_transient_failure_backs_off_per_resource_across_runs(lab: LabRepo, session: LabSession,
                                                              clock: FakeClock) -> None:
    lab.commit({"homeport.yaml": lab_yaml(faults={"vm-0": "transient"}).encode()})
    result = reconcile(session, mode=Mode.auto)
    assert result.status == "partial"
    assert _status(session) == {"vm-0": "failed", "vm-1": "running", "vm-2": "running"}
    failed = [o for o in result.outcomes if o.status == "failed"]
    assert [(o.change.resource, o.attempts, o.error_kind) for o in failed] == [("vm-0", 3, "transient")]
    assert len(clock.sleeps) == 2, "two retry rounds, waited through the injected sleep"
    clock.advance(seconds=10)
    result = reconcile(session, mode=Mode.auto)
    vm0 = next(c for c in result.plan.changes if c.resource == "vm-0")  # type: ignore[union-attr]
    assert vm0.blocked and vm0.blocked.startswith("waiting: transient provider error, backing off until")
    assert result.outcomes == []
    lab.commit({"homeport.yaml": lab_yaml().encode()})  # the provider recovers
    clock.advance(hours=1)
    result = reconcile(session, mode=Mode.auto)
    assert [(o.change.resource, o.status) for o in result.outcomes] == [("vm-0", "applied")]
    assert _status(session) == {"vm-0": "running", "vm-1": "running", "vm-2": "running"}
    assert "retry" not in next(i for i in list_instances(session.db, "home") if i.name == "vm-0").parameters


def test_permanent_failure_marks_the_resource_and_others_go_on(lab: LabRepo, session: LabSession) -> None:
    lab.commit({"homeport.yaml": lab_yaml(faults={"vm-2": "permanent"}).encode()})
    result = reconcile(session, mode=Mode.auto)
    assert result.status == "partial"
    assert _status(session) == {"vm-0": "running", "vm-1": "running", "vm-2": "failed"}
    rows = _audit(session, "create-failed")
    assert [(r.entity_id, r.result["kind"]) for r in rows] == [("vm-2", "permanent")]


def test_busy_lab_records_a_skipped_run(lab: LabRepo, session: LabSession) -> None:
    from reconciler.store.locks import lab_lock

    with lab_lock(session.db, "home", lock_dir=session.state_dir / "locks"):
        result = reconcile(session, mode=Mode.auto, trigger="schedule")
    assert result.status == "skipped" and result.run_id is not None
    with session.db.session() as s:
        run = s.get(ReconcileRunRow, result.run_id)
        assert run is not None and run.status == "skipped" and "in progress" in (run.error or "")
    assert [r.run_id for r in _audit(session, "run-skipped")] == [result.run_id]


def test_repeated_invalid_commit_is_one_audit_row(lab: LabRepo, session: LabSession, clock: FakeClock) -> None:
    lab.commit({"resources/vm-0.yaml": b"apiVersion: homelab.ai/v1\nkind: UniversalResource\nmetadata: {name: vm-0\n"})
    for _ in range(3):
        assert reconcile(session, mode=Mode.auto).status == "invalid"
        clock.advance(minutes=5)
    assert len(_audit(session, "run-invalid")) == 1
    assert list_instances(session.db, "home") == []


def test_prune_is_overridable_per_resource(lab: LabRepo, session: LabSession) -> None:
    from tests.daemon.labrepo import resource_yaml

    def with_sync(name: str, prune: bool) -> bytes:
        return (resource_yaml(name) + f"  sync: {{prune: {str(prune).lower()}}}\n").encode()

    lab.commit({"homeport.yaml": lab_yaml().replace("prune: true", "prune: false").encode(),
                "resources/vm-3.yaml": resource_yaml("vm-3").encode(),
                "resources/vm-0.yaml": with_sync("vm-0", True)})
    assert reconcile(session, mode=Mode.auto).counts["applied"] == 4
    lab.commit({"resources/vm-0.yaml": None, "resources/vm-1.yaml": None})
    result = reconcile(session, mode=Mode.auto)
    deletes = {c.resource: c.blocked for c in result.plan.changes if c.op.value == "delete"}  # type: ignore[union-attr]
    assert deletes == {"vm-0": None, "vm-1": "prune is off (reconcile.prune: false in homeport.yaml)"}
    assert _status(session)["vm-0"] == "deleted"

    lab.commit({"homeport.yaml": lab_yaml().encode(), "resources/vm-2.yaml": with_sync("vm-2", False)})
    result = reconcile(session, mode=Mode.auto)
    assert [(o.change.resource, o.change.op.value) for o in result.outcomes] == [("vm-1", "delete")], \
        "lab-wide prune back on: the earlier survivor goes now"
    lab.commit({"resources/vm-2.yaml": None})
    result = reconcile(session, mode=Mode.auto)
    deletes = {c.resource: c.blocked for c in result.plan.changes if c.op.value == "delete"}  # type: ignore[union-attr]
    assert deletes == {"vm-2": "prune is off for this resource (sync.prune: false when it was last applied)"}


def test_a_resource_waits_on_its_dependency(lab: LabRepo, session: LabSession, clock: FakeClock) -> None:
    from tests.daemon.labrepo import resource_yaml

    def depends(name: str, *deps: str) -> bytes:
        return (resource_yaml(name) + f"  depends_on: [{', '.join(deps)}]\n").encode()

    # vm-0 depends on vm-2 (applied first although it sorts last); vm-1 depends on vm-0, which depends on a
    # resource that keeps failing
    lab.commit({"homeport.yaml": lab_yaml(faults={"vm-3": "permanent"}).encode(),
                "resources/vm-0.yaml": depends("vm-0", "vm-2"), "resources/vm-1.yaml": depends("vm-1", "vm-0"),
                "resources/vm-3.yaml": resource_yaml("vm-3").encode(),
                "resources/vm-4.yaml": depends("vm-4", "vm-3"), "resources/vm-5.yaml": depends("vm-5", "vm-4")})
    result = reconcile(session, mode=Mode.auto)
    assert [o.change.resource for o in result.outcomes if o.status == "applied"] == ["vm-2", "vm-0", "vm-1"]
    blocked = {c.resource: c.blocked for c in result.plan.changes if c.blocked}  # type: ignore[union-attr]
    assert blocked == {"vm-4": "waiting on a dependency: vm-3 failed in this run",
                       "vm-5": "waiting on a dependency: vm-4 is waiting on a dependency in this run"}
    assert _status(session)["vm-4"] == "pending" and _status(session)["vm-3"] == "failed"
    lab.commit({"resources/vm-6.yaml": depends("vm-6", "nothing-here")})
    clock.advance(minutes=5)
    result = reconcile(session, mode=Mode.auto)
    vm6 = next(c for c in result.plan.changes if c.resource == "vm-6")  # type: ignore[union-attr]
    assert vm6.blocked == "waiting on a dependency: nothing-here is not declared (spec.depends_on)"
    lab.commit({"homeport.yaml": lab_yaml().encode()})  # vm-3 recovers: the chain follows in one run
    clock.advance(minutes=5)
    result = reconcile(session, mode=Mode.auto)
    assert [o.change.resource for o in result.outcomes] == ["vm-3", "vm-4", "vm-5"]
