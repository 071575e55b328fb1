"""kill -9 at every intent boundary: the daemon runs as a subprocess on sim, is killed, restarted, and converges.

Each run of `homeport daemon --once` is killed (SIGKILL, through the HOMEPORT_CRASH_AT test seam) at the
next boundary in turn (intent written -> provider applied -> intent finished -> ...), until a run gets
through. After every run: no duplicate machines, and after a run that finished, no pending intent. At
the end: the desired state is live, no run is left `running`, and each change is in the audit log
exactly once with outcome ok (as the apply itself, or as the verified resume of a killed apply).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from reconciler.phases.crashpoints import BOUNDARIES, CRASH_ENV
from reconciler.store.database import open_database
from reconciler.store.instances import list_instances
from reconciler.store.provider_state import DbProviderState
from reconciler.store.tables import ApplyIntentRow, AuditLogRow, ReconcileRunRow
from tests.daemon.labrepo import LabRepo, lab_files, resource_yaml

HOMEPORT = str(Path(sys.executable).parent / "homeport")


def run_daemon(lab: Path, db_url: str, crash_at: str | None) -> int:
    env = {**os.environ, "HOMEPORT_DATABASE_URL": db_url}
    env.pop(CRASH_ENV, None)
    if crash_at:
        env[CRASH_ENV] = crash_at
    proc = subprocess.run([HOMEPORT, "daemon", "--lab", str(lab), "--once", "--port", "0", "-o", "json"], env=env,
                          capture_output=True, text=True, timeout=300)
    if proc.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"daemon exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr[-3000:]}")
    return proc.returncode


def _machines(db_url: str) -> dict[str, dict[str, object]]:
    db = open_database(db_url)
    try:
        items = DbProviderState(db, "home", "lab").items("machine/")
        return {k.removeprefix("machine/"): v for k, v in items.items()}
    finally:
        db.dispose()


def pending_intents(db_url: str) -> list[str]:
    db = open_database(db_url)
    try:
        with db.session() as s:
            return list(s.execute(select(ApplyIntentRow.resource).where(ApplyIntentRow.status == "pending")).scalars())
    finally:
        db.dispose()


def _no_duplicate_machines(db_url: str) -> None:
    names = list(_machines(db_url))
    assert len(names) == len(set(names))


def converge_with_crashes(lab: Path, db_url: str, boundary_index: int,
                          check: Callable[[], None]) -> tuple[int, int, set[str]]:
    """Run killed daemons, one boundary after the other, until one finishes; return (kills, next index, hit).

    `check` runs after every run, killed or not (no duplicate resources).
    """
    kills = 0
    hit: set[str] = set()
    for _ in range(20):
        boundary = BOUNDARIES[boundary_index % len(BOUNDARIES)]
        boundary_index += 1
        rc = run_daemon(lab, db_url, f"{boundary}:1")
        check()
        if rc == -signal.SIGKILL:
            kills += 1
            hit.add(boundary)
            continue
        assert pending_intents(db_url) == [], "a finished run leaves no unfinished intent"
        return kills, boundary_index, hit
    raise AssertionError("the daemon never finished a run")


def _instance_status(db_url: str) -> dict[str, str]:
    db = open_database(db_url)
    try:
        return {i.name: i.status for i in list_instances(db, "home")}
    finally:
        db.dispose()


def _last_applied_cpu(db_url: str) -> dict[str, object]:
    db = open_database(db_url)
    try:
        return {i.name: (i.last_applied_state or {}).get("cpu") for i in list_instances(db, "home")}
    finally:
        db.dispose()


def ok_changes(db_url: str) -> Counter[tuple[str, str]]:
    db = open_database(db_url)
    try:
        with db.session() as s:
            rows = s.execute(select(AuditLogRow.entity_id, AuditLogRow.action).where(
                AuditLogRow.entity_type == "resource", AuditLogRow.outcome == "ok")).all()
            running = s.execute(select(ReconcileRunRow.id).where(ReconcileRunRow.status == "running")).all()
    finally:
        db.dispose()
    assert running == [], "killed runs are closed as interrupted by the next run"
    return Counter((entity, action.removesuffix("-resumed")) for entity, action in rows)


def test_kill_minus_9_at_every_intent_boundary(tmp_path: Path, db_url: str) -> None:
    repo = LabRepo(tmp_path / "lab", bare=False)
    repo.commit(lab_files(3), "three machines")
    kills, index, hit = converge_with_crashes(repo.path, db_url, 0, lambda: _no_duplicate_machines(db_url))
    assert hit == set(BOUNDARIES), f"every boundary was crossed by a kill (hit {sorted(hit)})"
    machines = _machines(db_url)
    assert sorted(machines) == ["vm-0", "vm-1", "vm-2"]
    assert all(m["fields"]["cpu"] == 1 for m in machines.values())  # type: ignore[index]
    assert ok_changes(db_url) == Counter({("vm-0", "create"): 1, ("vm-1", "create"): 1, ("vm-2", "create"): 1})

    # updates and a delete, killed at every boundary again
    repo.commit({"resources/vm-0.yaml": resource_yaml("vm-0", cpu=2).encode(),
                 "resources/vm-1.yaml": resource_yaml("vm-1", cpu=3).encode(), "resources/vm-2.yaml": None})
    more, _, hit2 = converge_with_crashes(repo.path, db_url, index, lambda: _no_duplicate_machines(db_url))
    assert hit2 == set(BOUNDARIES), f"every boundary was crossed by a kill (hit {sorted(hit2)})"
    machines = _machines(db_url)
    assert sorted(machines) == ["vm-0", "vm-1"]
    assert (machines["vm-0"]["fields"]["cpu"], machines["vm-1"]["fields"]["cpu"]) == (2, 3)  # type: ignore[index]
    assert _instance_status(db_url) == {"vm-0": "running", "vm-1": "running", "vm-2": "deleted"}
    applied = _last_applied_cpu(db_url)
    assert (applied["vm-0"], applied["vm-1"]) == (2, 3), "last applied state follows a change finished by a killed run"
    assert ok_changes(db_url) == Counter({("vm-0", "create"): 1, ("vm-1", "create"): 1, ("vm-2", "create"): 1,
                                           ("vm-0", "update"): 1, ("vm-1", "update"): 1, ("vm-2", "delete"): 1})
    assert kills + more >= 6
    # one more clean run: a no-op
    assert run_daemon(repo.path, db_url, None) == 0
    assert ok_changes(db_url)[("vm-0", "update")] == 1


@pytest.fixture(autouse=True)
def _no_inherited_crash_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CRASH_ENV, raising=False)
