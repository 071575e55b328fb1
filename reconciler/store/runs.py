"""reconcile_runs rows: one per attempt, with revision, phase timings and outcome."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from reconciler.store.database import Database
from reconciler.store.tables import ReconcileRunRow, now_utc


def start_run(db: Database, lab: str, *, revision: str | None, trigger: str, mode: str) -> str:
    """Insert a running run; return its id."""
    with db.session() as s:
        row = ReconcileRunRow(lab=lab, revision=revision, trigger=trigger, mode=mode, status="running")
        s.add(row)
        s.flush()
        return row.id


def finish_run(
    db: Database,
    run_id: str,
    *,
    status: str,
    revision: str | None,
    phase_timings: dict[str, float],
    summary: dict[str, Any],
    error: str | None = None,
) -> None:
    """Record a run's outcome."""
    with db.session() as s:
        row = s.get(ReconcileRunRow, run_id)
        if row is None:
            return
        row.status = status
        row.revision = revision or row.revision
        row.finished_at = now_utc()
        row.phase_timings = {k: round(v, 4) for k, v in phase_timings.items()}
        row.summary = summary
        row.error = error


def recent_runs(db: Database, lab: str, limit: int = 20) -> list[ReconcileRunRow]:
    """Newest runs first."""
    with db.session() as s:
        return list(
            s.execute(
                select(ReconcileRunRow)
                .where(ReconcileRunRow.lab == lab)
                .order_by(ReconcileRunRow.started_at.desc())
                .limit(limit)
            ).scalars()
        )


def close_interrupted_runs(db: Database, lab: str) -> int:
    """Mark runs still `running` as `interrupted` (call only while holding the lab's lock); return how many."""
    with db.session() as s:
        rows = list(s.execute(select(ReconcileRunRow).where(ReconcileRunRow.lab == lab,
                                                            ReconcileRunRow.status == "running")).scalars())
        for row in rows:
            row.status = "interrupted"
            row.finished_at = now_utc()
            row.error = "the process running it stopped before the run finished (crash, kill or power loss)"
        return len(rows)


def last_finished_run(db: Database, lab: str) -> ReconcileRunRow | None:
    """The newest run that is not running, or None."""
    with db.session() as s:
        return s.execute(select(ReconcileRunRow).where(ReconcileRunRow.lab == lab,
                                                       ReconcileRunRow.status != "running")
                         .order_by(ReconcileRunRow.started_at.desc()).limit(1)).scalar_one_or_none()
