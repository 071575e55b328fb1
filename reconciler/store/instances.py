"""deployment_instances: expected vs actual state, deviation, status and revisions per resource."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from reconciler.store.database import Database
from reconciler.store.tables import DeploymentInstanceRow, now_utc


@dataclass(frozen=True)
class InstanceSnapshot:
    """What the planner needs from an instance row."""

    name: str
    node: str | None
    provider_id: str | None
    status: str
    last_applied_state: dict[str, Any]
    last_applied_revision: str | None
    deviation_detected: bool = False
    parameters: dict[str, Any] | None = None


def load_instances(db: Database, lab: str) -> dict[str, InstanceSnapshot]:
    """Every instance of a lab, in one query."""
    cols = (
        DeploymentInstanceRow.name,
        DeploymentInstanceRow.node,
        DeploymentInstanceRow.provider_id,
        DeploymentInstanceRow.status,
        DeploymentInstanceRow.last_applied_state,
        DeploymentInstanceRow.last_applied_revision,
        DeploymentInstanceRow.deviation_detected,
        DeploymentInstanceRow.parameters,
    )
    with db.session() as s:
        rows = s.execute(select(*cols).where(DeploymentInstanceRow.lab == lab)).all()
    return {r[0]: InstanceSnapshot(r[0], r[1], r[2], r[3], r[4] or {}, r[5], bool(r[6]), r[7]) for r in rows}


def instance_rows(session: Session, lab: str, names: set[str] | None = None) -> dict[str, DeploymentInstanceRow]:
    """Instance rows by name for updating in the caller's session."""
    stmt = select(DeploymentInstanceRow).where(DeploymentInstanceRow.lab == lab)
    if names is not None:
        if not names:
            return {}
        stmt = stmt.where(DeploymentInstanceRow.name.in_(sorted(names)))
    return {row.name: row for row in session.execute(stmt).scalars()}


def touch_checked(session: Session, lab: str, when: datetime) -> None:
    """Mark every live instance as checked now (one statement). A check is not an update: updated_at is kept,
    so the no-op index's database stamp changes only when a row really changes."""
    session.execute(
        update(DeploymentInstanceRow)
        .where(DeploymentInstanceRow.lab == lab, DeploymentInstanceRow.destroyed_at.is_(None))
        .values(state_last_checked=when, updated_at=DeploymentInstanceRow.updated_at)
    )


def list_instances(db: Database, lab: str) -> list[DeploymentInstanceRow]:
    """Every instance row of a lab, by name."""
    with db.session() as s:
        return list(
            s.execute(
                select(DeploymentInstanceRow)
                .where(DeploymentInstanceRow.lab == lab)
                .order_by(DeploymentInstanceRow.name)
            ).scalars()
        )


def find_instance(db: Database, lab: str, ref: str) -> DeploymentInstanceRow | None:
    """One instance row by resource name, instance id or provider id (tried in that order), without
    reading the others: a read of one resource costs the same at 10 or 10,000."""
    with db.session() as s:
        for column in (DeploymentInstanceRow.name, DeploymentInstanceRow.id, DeploymentInstanceRow.provider_id):
            row = s.execute(
                select(DeploymentInstanceRow)
                .where(DeploymentInstanceRow.lab == lab, column == ref)
                .order_by(DeploymentInstanceRow.name)
                .limit(1)
            ).scalar_one_or_none()
            if row is not None:
                return row
    return None


def new_instance(lab: str, name: str, provider: str, provider_type: str) -> DeploymentInstanceRow:
    """A fresh instance row (not yet added to a session)."""
    return DeploymentInstanceRow(
        lab=lab, name=name, provider=provider, provider_type=provider_type, status="pending", created_at=now_utc()
    )


RETRY_KEY = "retry"


def retry_after(instances: dict[str, InstanceSnapshot]) -> dict[str, datetime]:
    """Resources in transient-error backoff and when each may be tried again (from `parameters.retry`)."""
    out: dict[str, datetime] = {}
    for name, snap in instances.items():
        retry = (snap.parameters or {}).get(RETRY_KEY)
        if isinstance(retry, dict) and retry.get("next_at"):
            out[name] = datetime.fromisoformat(str(retry["next_at"]))
    return out


def mark_deleted(db: Database | Session, lab: str, name: str, when: datetime) -> None:
    """Record that a resource is gone (in the caller's transaction when given a Session)."""
    stmt = (update(DeploymentInstanceRow)
            .where(DeploymentInstanceRow.lab == lab, DeploymentInstanceRow.name == name)
            .values(status="deleted", destroyed_at=when, deviation_detected=False, deviation_details=[],
                    error_message=None))
    if isinstance(db, Session):
        db.execute(stmt)
        return
    with db.session() as s:
        s.execute(stmt)


def mark_applied(db: Database | Session, lab: str, name: str, desired: dict[str, Any], revision: str | None) -> None:
    """Record what a finished change applied (in the caller's transaction when given a Session).

    Rows not recorded yet (a first create) are left to the record phase.
    """
    values: dict[str, Any] = {"last_applied_state": desired, "expected_state": desired}
    if revision:
        values["last_applied_revision"] = revision
    stmt = (update(DeploymentInstanceRow)
            .where(DeploymentInstanceRow.lab == lab, DeploymentInstanceRow.name == name).values(**values))
    if isinstance(db, Session):
        db.execute(stmt)
        return
    with db.session() as s:
        s.execute(stmt)
