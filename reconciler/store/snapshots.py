"""infrastructure_snapshots: the observed inventory plus the desired state at a revision, secrets left out."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from reconciler.store.audit import append_audit, redact
from reconciler.store.database import Database
from reconciler.store.tables import InfrastructureSnapshotRow


def save_snapshot(db: Database, *, lab: str, name: str, snapshot_type: str, revision: str | None,
                  data: dict[str, Any], created_by: str, notes: str | None = None) -> str:
    """Store a snapshot (values under secret-looking keys redacted) with its audit row; return its id."""
    with db.session() as s:
        row = InfrastructureSnapshotRow(lab=lab, name=name, snapshot_type=snapshot_type, revision=revision,
                                        snapshot_data=redact(data), created_by=created_by, notes=notes)
        s.add(row)
        s.flush()
        append_audit(s, lab=lab, entity_type="snapshot", entity_id=row.id, action="snapshot-create",
                     actor=created_by, tool="snapshot", arguments={"name": name, "type": snapshot_type},
                     result={"revision": revision, "resources": len(data.get("observed_resources", []))})
        return row.id


def list_snapshots(db: Database, lab: str, limit: int = 50) -> list[InfrastructureSnapshotRow]:
    """Newest snapshots first (their data included)."""
    with db.session() as s:
        return list(s.execute(select(InfrastructureSnapshotRow).where(InfrastructureSnapshotRow.lab == lab)
                              .order_by(InfrastructureSnapshotRow.created_at.desc()).limit(limit)).scalars())


def get_snapshot(db: Database, lab: str, snapshot_id: str) -> InfrastructureSnapshotRow | None:
    """One snapshot by id or unique id prefix, or None."""
    with db.session() as s:
        rows = list(s.execute(select(InfrastructureSnapshotRow).where(
            InfrastructureSnapshotRow.lab == lab, InfrastructureSnapshotRow.id.startswith(snapshot_id))).scalars())
    return rows[0] if len(rows) == 1 else None
