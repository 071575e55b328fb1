"""state_deviations: one row per drifted field, from first seen to resolution."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reconciler.store.database import Database
from reconciler.store.tables import StateDeviationRow


def open_deviations(session: Session, lab: str, resource: str | None = None) -> list[StateDeviationRow]:
    """Unresolved deviations of a lab (or one resource)."""
    stmt = select(StateDeviationRow).where(StateDeviationRow.lab == lab, StateDeviationRow.resolved_at.is_(None))
    if resource is not None:
        stmt = stmt.where(StateDeviationRow.resource == resource)
    return list(session.execute(stmt.order_by(StateDeviationRow.resource, StateDeviationRow.field_path)).scalars())


def sync_deviations(
    session: Session,
    *,
    lab: str,
    resource: str,
    instance_id: str | None,
    fields: list[dict[str, Any]],
    when: datetime,
    severity: str,
    auto_correctable: bool,
    existing: list[StateDeviationRow],
) -> list[StateDeviationRow]:
    """Open rows for new drifted fields, refresh ones still drifting, resolve ones that no longer drift."""
    current = {f["path"]: f for f in fields}
    by_path = {row.field_path: row for row in existing if row.resource == resource}
    new_rows = []
    for path, f in current.items():
        row = by_path.get(path)
        if row is None:
            row = StateDeviationRow(
                lab=lab,
                resource=resource,
                instance_id=instance_id,
                field_path=path,
                deviation_type="missing_resource" if path == "(resource)" else "config_drift",
                expected_value=f.get("new"),
                actual_value=f.get("old"),
                severity=severity,
                auto_correctable=auto_correctable,
                corrective_action="self-heal"
                if auto_correctable
                else f"homeport drift propose {resource} --revert|--adopt",
                detected_at=when,
                last_seen_at=when,
            )
            session.add(row)
            new_rows.append(row)
        else:
            row.last_seen_at = when
            row.actual_value = f.get("old")
            row.expected_value = f.get("new")
    for path, row in by_path.items():
        if path not in current:
            row.resolved_at = when
            row.resolution = "converged"
            row.resolved_by = "reconciler"
    return new_rows


def resolve_all(session: Session, lab: str, resource: str, when: datetime, how: str, by: str) -> None:
    """Close every open deviation of a resource (applied, deleted or adopted)."""
    for row in open_deviations(session, lab, resource):
        row.resolved_at = when
        row.resolution = how
        row.resolved_by = by


def list_open_deviations(db: Database, lab: str) -> list[StateDeviationRow]:
    """Open deviations, for status and MCP."""
    with db.session() as s:
        return open_deviations(s, lab)
