"""Two daemons against one PostgreSQL never apply at once: the advisory lock makes the second skip and record it."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from reconciler.store.database import open_database
from reconciler.store.provider_state import DbProviderState
from reconciler.store.tables import ApplyIntentRow, AuditLogRow, ReconcileRunRow
from tests.daemon.labrepo import LabRepo, lab_files, resource_yaml

HOMEPORT = str(Path(sys.executable).parent / "homeport")
COUNT = 20


def _start(lab: Path, db_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HOMEPORT_DATABASE_URL": db_url}
    return subprocess.Popen([HOMEPORT, "daemon", "--lab", str(lab), "--port", "0", "--interval", "1s"], env=env,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)


def _machines_cpu(db_url: str) -> dict[str, int]:
    db = open_database(db_url)
    try:
        items = DbProviderState(db, "home", "lab").items("machine/")
        return {k.removeprefix("machine/"): v["fields"]["cpu"] for k, v in items.items()}
    finally:
        db.dispose()


def _wait_for(predicate: object, what: str, limit: float = 240.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.5)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.mark.postgres
def test_two_daemons_never_apply_together(tmp_path: Path, pg_url: str) -> None:
    repo = LabRepo(tmp_path / "lab", bare=False)
    repo.commit(lab_files(COUNT), "lab")
    procs = [_start(repo.path, pg_url, tmp_path / f"daemon-{i}.log") for i in range(2)]
    try:
        _wait_for(lambda: len(_machines_cpu(pg_url)) == COUNT, "the first apply")
        for cpu in (2, 3, 4):
            repo.commit({f"resources/vm-{i}.yaml": resource_yaml(f"vm-{i}", cpu=cpu).encode() for i in range(COUNT)})
            _wait_for(lambda cpu=cpu: set(_machines_cpu(pg_url).values()) == {cpu}, f"cpu={cpu} everywhere")
        time.sleep(3)  # a few more cycles of both daemons on the converged lab
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=120)
    assert [p.returncode for p in procs] == [0, 0], "both daemons stop cleanly on SIGTERM"

    db = open_database(pg_url)
    try:
        with db.session() as s:
            runs = s.execute(select(ReconcileRunRow.id, ReconcileRunRow.status, ReconcileRunRow.started_at,
                                    ReconcileRunRow.finished_at)).all()
            intents = s.execute(select(ApplyIntentRow.run_id, ApplyIntentRow.created_at,
                                       ApplyIntentRow.finished_at)).all()
            ok = s.execute(select(AuditLogRow.entity_id, AuditLogRow.action).where(
                AuditLogRow.entity_type == "resource", AuditLogRow.outcome == "ok")).all()
    finally:
        db.dispose()
    held = sorted((r.started_at, r.finished_at, r.id) for r in runs if r.status != "skipped")
    assert all(f is not None for _, f, _ in held)
    for (_, end, first), (start, _, second) in itertools.pairwise(held):
        assert end <= start, f"runs {first} and {second} overlapped"
    spans: dict[str, list[datetime]] = {}
    for run_id, created, finished in intents:
        spans.setdefault(run_id, []).extend([created, finished or created])
    ordered = sorted((min(v), max(v)) for v in spans.values())
    for (_, end), (start, _) in itertools.pairwise(ordered):
        assert end <= start, "applies of two runs interleaved"
    counts = Counter(action for _, action in ok)
    assert counts == Counter({"create": COUNT, "update": 3 * COUNT}), "each change applied exactly once"
    skipped = sum(1 for r in runs if r.status == "skipped")
    print(f"runs: {len(runs)}, skipped because the other daemon held the lock: {skipped}")
