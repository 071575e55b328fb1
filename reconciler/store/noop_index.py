"""The no-op index: what the last fully converged run of a lab saw, read and written without ORM objects.

`reconcile_index` holds one row per lab (commit tree, engine key, database stamp, each provider's observation
digest); `reconcile_index_resources` one row per resource (the hash of its inputs' blob ids, its observation
fingerprint and the no-op change planned for it). Rows are read as slots dataclasses from plain column tuples:
trusted rows are never re-validated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from reconciler.store.database import Database
from reconciler.store.tables import (
    ApplyIntentRow,
    DeploymentInstanceRow,
    ReconcileIndexResourceRow,
    ReconcileIndexRow,
    StateDeviationRow,
    now_utc,
)


@dataclass(slots=True, frozen=True)
class LabIndex:
    """The lab-level row."""

    lab: str
    tree_id: str
    engine: str
    run_id: str
    revision: str
    db_stamp: str
    providers: dict[str, str]
    plan_extras: dict[str, Any]
    resources: int


@dataclass(slots=True, frozen=True)
class ResourceIndex:
    """One resource's row."""

    name: str
    provider: str
    provider_type: str
    node: str | None
    provider_id: str | None
    input_key: str
    render_key: str | None
    observed: str
    reason: str


def read_lab_index(db: Database, lab: str) -> LabIndex | None:
    """The lab's index row, or None (never written, or invalidated by a full run)."""
    t = ReconcileIndexRow
    cols = (t.lab, t.tree_id, t.engine, t.run_id, t.revision, t.db_stamp, t.providers, t.plan_extras, t.resources)
    with db.engine.connect() as conn:
        row = conn.execute(select(*cols).where(t.lab == lab)).first()
    if row is None:
        return None
    return LabIndex(row[0], row[1], row[2], row[3], row[4], row[5], dict(row[6] or {}), dict(row[7] or {}), row[8])


def read_resource_index(db: Database, lab: str) -> dict[str, ResourceIndex]:
    """Every indexed resource of the lab, by name (one query, plain tuples)."""
    t = ReconcileIndexResourceRow
    cols = (t.name, t.provider, t.provider_type, t.node, t.provider_id, t.input_key, t.render_key, t.observed,
            t.reason)
    with db.engine.connect() as conn:  # Core rows: no ORM bookkeeping for 10,000 plain tuples
        rows = conn.execute(select(*cols).where(t.lab == lab).order_by(t.name)).all()
    return {r[0]: ResourceIndex(*r) for r in rows}


def mark_checked(db: Database, lab: str, when: datetime) -> None:
    """A run found the lab unchanged at `when`: one row written, not one per resource."""
    with db.session() as s:
        s.execute(update(ReconcileIndexRow).where(ReconcileIndexRow.lab == lab).values(checked_at=when))


def index_checked_at(db: Database, lab: str) -> datetime | None:
    """When a run last found the lab unchanged through the index (None: never, or a full run since)."""
    with db.engine.connect() as conn:
        value = conn.execute(select(ReconcileIndexRow.checked_at).where(ReconcileIndexRow.lab == lab)).scalar()
    return value if isinstance(value, datetime) else None


def database_stamp(db: Database, lab: str) -> str:
    """What other writers may change between runs, summed up: instance rows (count, newest update), open
    deviations and unfinished apply intents. Three aggregate queries, no rows read."""
    inst = DeploymentInstanceRow
    with db.engine.connect() as s:
        count, newest = s.execute(select(func.count(), func.max(inst.updated_at)).where(inst.lab == lab)).one()
        devs = s.execute(
            select(func.count()).where(StateDeviationRow.lab == lab, StateDeviationRow.resolved_at.is_(None))
        ).scalar_one()
        intents = s.execute(
            select(func.count()).where(ApplyIntentRow.lab == lab, ApplyIntentRow.status == "pending")
        ).scalar_one()
    return f"instances={count}@{_stamp(newest)};deviations={devs};intents={intents}"


def _stamp(value: datetime | str | None) -> str:
    if value is None:
        return "-"
    return value.isoformat() if isinstance(value, datetime) else str(value)


def invalidate(db: Database, lab: str) -> bool:
    """Forget the lab-level row (a full run is starting); per-resource rows stay for the next write to diff.
    Returns whether there was one."""
    with db.session() as s:
        row = s.get(ReconcileIndexRow, lab)
        if row is None:
            return False
        s.delete(row)
        return True


def write_index(db: Database, lab_index: LabIndex, resources: dict[str, ResourceIndex]) -> int:
    """Store the lab row and the per-resource rows; only rows that differ from the stored ones are written.
    Returns how many resource rows were inserted, updated or deleted."""
    t = ReconcileIndexResourceRow
    existing = read_resource_index(db, lab_index.lab)
    written = 0
    with db.session() as s:
        gone = sorted(set(existing) - set(resources))
        for start in range(0, len(gone), 500):
            s.execute(delete(t).where(t.lab == lab_index.lab, t.name.in_(gone[start:start + 500])))
        written += len(gone)
        fresh = [r for n, r in resources.items() if n not in existing]
        if fresh:
            s.execute(insert(t), [_values(lab_index.lab, r) for r in fresh])
            written += len(fresh)
        for name, entry in resources.items():
            old = existing.get(name)
            if old is not None and old != entry:
                s.execute(update(t).where(t.lab == lab_index.lab, t.name == name).values(**_values(lab_index.lab,
                                                                                                   entry)))
                written += 1
        row = s.get(ReconcileIndexRow, lab_index.lab)
        if row is None:
            row = ReconcileIndexRow(lab=lab_index.lab)
            s.add(row)
        row.tree_id = lab_index.tree_id
        row.engine = lab_index.engine
        row.run_id = lab_index.run_id
        row.revision = lab_index.revision
        row.db_stamp = lab_index.db_stamp
        row.providers = lab_index.providers
        row.plan_extras = lab_index.plan_extras
        row.resources = lab_index.resources
        row.updated_at = now_utc()
        row.checked_at = None  # the full run itself marked every instance checked
    return written


def _values(lab: str, r: ResourceIndex) -> dict[str, Any]:
    return {"lab": lab, "name": r.name, "provider": r.provider, "provider_type": r.provider_type, "node": r.node,
            "provider_id": r.provider_id, "input_key": r.input_key, "render_key": r.render_key,
            "observed": r.observed, "reason": r.reason}
