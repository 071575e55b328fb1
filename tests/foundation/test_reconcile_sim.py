"""The whole loop on the sim provider through the real CLI, Git and database."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select, update

from reconciler.models.plan import Mode
from reconciler.phases.context import LabSession
from reconciler.phases.run import reconcile
from reconciler.store.tables import AuditLogRow, StateDeviationRow
from tests.foundation.labkit import GIT_ENV, commit, homeport, new_example_lab, new_mini_lab, resource


def plan_json(lab: Path, *extra: str) -> dict:
    code, out = homeport("plan", "--lab", str(lab), "--output", "json", *extra)
    assert code == 0, out
    return json.loads(out)


def ops(plan: dict) -> dict[str, str]:
    return {c["resource"]: c["op"] for c in plan["changes"] if not c["blocked"] or c["op"] != "noop"}


def test_init_validate_plan_apply_then_only_noops(tmp_path: Path) -> None:
    lab = new_example_lab(tmp_path)
    code, out = homeport("validate", "--lab", str(lab))
    assert code == 0 and "valid" in out
    code, _ = homeport("plan", "--lab", str(lab), "--detailed-exitcode")
    assert code == 2
    first = plan_json(lab)
    assert ops(first) == {"ci-runner": "create", "gpu-worker": "create", "web-frontend": "create"}
    placed = {c["resource"]: c["node"] for c in first["changes"] if c["op"] == "create"}
    assert placed["gpu-worker"] == "sim-1"  # the only node with a GPU
    code, out = homeport("apply", "--lab", str(lab), "--auto-approve")
    assert code == 0, out
    second = plan_json(lab)
    noops = [c for c in second["changes"] if c["provider"] == "lab"]
    assert {c["op"] for c in noops} == {"noop"}
    for change in noops:
        assert "matches" in change["reason"] and change["resource"] in change["reason"].replace("sim-", "")
    assert {c["node"] for c in noops if c["resource"] in placed} == set(placed.values())
    code, _ = homeport("plan", "--lab", str(lab), "--detailed-exitcode")
    assert code == 0
    code, out = homeport("status", "--lab", str(lab), "--output", "json")
    status = json.loads(out)
    assert {i["name"]: i["matches"] for i in status["instances"]} == {
        "ci-runner": True,
        "gpu-worker": True,
        "web-frontend": True,
    }
    code, out = homeport("audit", "verify", "--lab", str(lab))
    assert code == 0 and "intact" in out


def test_drift_is_recorded_without_self_heal_and_repaired_by_a_person(tmp_path: Path) -> None:
    lab = new_mini_lab(tmp_path)
    assert homeport("apply", "--lab", str(lab), "--auto-approve")[0] == 0
    code, out = homeport("sim", "drift", "a", "cpu=16", "--lab", str(lab))
    assert code == 0, out
    plan = plan_json(lab)
    change = next(c for c in plan["changes"] if c["resource"] == "a")
    assert change["op"] == "update" and change["drift"] is True
    assert change["fields"] == [{"path": "cpu", "old": 16, "new": 2, "forces_replacement": False, "risk": "medium"}]
    session = LabSession.open(lab, actor="daemon")
    try:
        result = reconcile(session, mode=Mode.auto, trigger="test")
        assert result.status == "ok" and result.outcomes == []
        with session.db.session() as s:
            devs = list(s.execute(select(StateDeviationRow).where(StateDeviationRow.resolved_at.is_(None))).scalars())
        assert [(d.resource, d.field_path, d.expected_value, d.actual_value) for d in devs] == [("a", "cpu", 2, 16)]
        # a second run keeps one row per field and refreshes last seen
        reconcile(session, mode=Mode.auto, trigger="test")
        with session.db.session() as s:
            assert len(list(s.execute(select(StateDeviationRow)).scalars())) == 1
    finally:
        session.close()
    code, out = homeport("status", "--lab", str(lab))
    assert "drifted" in out and "declared 2, live 16" in out
    assert homeport("apply", "--lab", str(lab), "--auto-approve")[0] == 0
    assert ops(plan_json(lab)) == {"a": "noop", "b": "noop"}
    session = LabSession.open(lab)
    try:
        with session.db.session() as s:
            row = s.execute(select(StateDeviationRow)).scalar_one()
            assert row.resolved_at is not None and row.resolution == "applied"
    finally:
        session.close()


def test_prune_deletes_only_when_policy_allows_and_guards_hold(tmp_path: Path) -> None:
    lab = new_mini_lab(tmp_path, {n: resource(n) for n in "abcd"})
    assert homeport("apply", "--lab", str(lab), "--auto-approve")[0] == 0
    commit(lab, {"resources/d.yaml": None}, "drop d")
    plan = plan_json(lab)
    assert ops(plan)["d"] == "delete"
    assert homeport("apply", "--lab", str(lab), "--auto-approve")[0] == 0
    assert "d" not in ops(plan_json(lab))
    # more than half of the owned resources at once: refused
    commit(lab, {"resources/a.yaml": None, "resources/b.yaml": None}, "drop a and b")
    plan = plan_json(lab)
    held = {c["resource"]: c["blocked"] for c in plan["changes"] if c["op"] == "delete"}
    assert set(held) == {"a", "b"} and all("max_prune_fraction" in (r or "") for r in held.values())
    commit(
        lab,
        {
            "resources/a.yaml": resource("a"),
            "resources/b.yaml": resource("b"),
            "resources/c.yaml": None,
            "resources/a.yaml.bak": None,
        }
        if False
        else {"resources/a.yaml": resource("a"), "resources/b.yaml": resource("b")},
        "restore",
    )
    # an empty desired state never prunes
    commit(lab, {f"resources/{n}.yaml": None for n in "abc"}, "empty")
    plan = plan_json(lab)
    assert all("declares no resources" in (c["blocked"] or "") for c in plan["changes"] if c["op"] == "delete")


def test_stateful_resources_need_an_explicit_allowance(tmp_path: Path) -> None:
    stateful = resource("db", extra="  deployment: {stateful: true}\n")
    lab = new_mini_lab(tmp_path, {"a": resource("a"), "b": resource("b"), "db": stateful})
    assert homeport("apply", "--lab", str(lab), "--auto-approve")[0] == 0
    commit(lab, {"resources/db.yaml": None}, "drop db")
    change = next(c for c in plan_json(lab)["changes"] if c["resource"] == "db")
    assert change["op"] == "delete" and "allow_delete_stateful" in change["blocked"]
    commit(
        lab,
        {
            "resources/db.yaml": resource(
                "db", extra="  deployment: {stateful: true}\n  sync: {allow_delete_stateful: true}\n"
            )
        },
        "allow",
    )
    assert homeport("apply", "--lab", str(lab), "--auto-approve")[0] == 0
    commit(lab, {"resources/db.yaml": None}, "drop db again")
    assert homeport("apply", "--lab", str(lab), "--auto-approve")[0] == 0
    assert "db" not in ops(plan_json(lab))


def test_rename_is_planned_as_a_rename(tmp_path: Path) -> None:
    lab = new_mini_lab(tmp_path)
    assert homeport("apply", "--lab", str(lab), "--auto-approve")[0] == 0
    commit(
        lab, {"resources/a.yaml": None, "resources/web.yaml": resource("web", extra="  renamed_from: a\n")}, "rename"
    )
    plan = plan_json(lab)
    assert ops(plan) == {"web": "rename", "b": "noop"}
    assert homeport("apply", "--lab", str(lab), "--auto-approve")[0] == 0
    assert ops(plan_json(lab)) == {"web": "noop", "b": "noop"}


def test_only_main_is_applied(tmp_path: Path) -> None:
    lab = new_mini_lab(tmp_path)
    subprocess.run(["git", "-C", str(lab), "checkout", "-q", "-b", "feature"], check=True, env=GIT_ENV)
    commit(lab, {"resources/c.yaml": resource("c")}, "feature work")
    assert ops(plan_json(lab, "--ref", "feature"))["c"] == "create"
    assert "c" not in ops(plan_json(lab))
    session = LabSession.open(lab)
    try:
        result = reconcile(session, mode=Mode.manual, ref="feature")
    finally:
        session.close()
    assert result.status == "invalid" and "only merged commits are applied" in (result.error or "")


def test_apply_off_a_terminal_needs_auto_approve(tmp_path: Path) -> None:
    lab = new_mini_lab(tmp_path)
    homeport_bin = Path(os.environ.get("VIRTUAL_ENV", Path(__file__).resolve().parents[2] / ".venv")) / "bin/homeport"
    proc = subprocess.run(
        [str(homeport_bin), "apply", "--lab", str(lab)], stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    assert proc.returncode == 1 and "--auto-approve" in proc.stderr and "Traceback" not in proc.stderr


def test_tampering_with_the_audit_log_is_detected(tmp_path: Path) -> None:
    lab = new_mini_lab(tmp_path)
    assert homeport("apply", "--lab", str(lab), "--auto-approve")[0] == 0
    session = LabSession.open(lab)
    try:
        with session.db.session() as s:
            first = s.execute(select(AuditLogRow).order_by(AuditLogRow.seq)).scalars().first()
            assert first is not None
            s.execute(update(AuditLogRow).where(AuditLogRow.seq == first.seq).values(actor="someone-else"))
    finally:
        session.close()
    code, out = homeport("audit", "verify", "--lab", str(lab))
    assert code == 1 and "broken" in out


@pytest.mark.postgres
def test_the_loop_on_postgresql(tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOMEPORT_DATABASE_URL", pg_url)
    lab = new_example_lab(tmp_path)
    assert homeport("apply", "--lab", str(lab), "--auto-approve")[0] == 0
    assert {c["op"] for c in plan_json(lab)["changes"] if c["provider"] == "lab"} == {"noop"}
    assert not (lab / ".homeport" / "state.db").exists()
    code, out = homeport("audit", "verify", "--lab", str(lab))
    assert code == 0 and "3 rows" in out


def test_unmanaged_machines_are_reported_and_never_touched(tmp_path: Path) -> None:
    from reconciler.providers.sim.drift import add_unmanaged
    from reconciler.store.provider_state import DbProviderState

    lab = new_mini_lab(tmp_path)
    assert homeport("apply", "--lab", str(lab), "--auto-approve")[0] == 0
    session = LabSession.open(lab)
    try:
        state = DbProviderState(session.db, "mini", "lab")
        add_unmanaged(state, "hand-made", "n1", {"cpu": 1, "memory_gb": 1.0})
        add_unmanaged(state, "a-twin", "n2", {"cpu": 64})
    finally:
        session.close()
    plan = plan_json(lab)
    assert sorted(plan["unmanaged"]) == ["lab/a-twin (machine sim-a-twin)", "lab/hand-made (machine sim-hand-made)"]
    assert "hand-made" not in ops(plan)  # prune is on, yet a machine homeport did not make is never deleted
    assert homeport("apply", "--lab", str(lab), "--auto-approve")[0] == 0
    session = LabSession.open(lab)
    try:
        machines = DbProviderState(session.db, "mini", "lab").items("machine/")
    finally:
        session.close()
    assert machines["machine/hand-made"]["fields"] == {"cpu": 1, "memory_gb": 1.0}
    assert machines["machine/a-twin"]["fields"] == {"cpu": 64}
