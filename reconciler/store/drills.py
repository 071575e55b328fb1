"""drill_reports: the stored reports of rebuild drills, newest first; redacted before they are written."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from reconciler.store.audit import append_audit, redact
from reconciler.store.database import Database
from reconciler.store.tables import DrillReportRow


def save_drill(db: Database, *, lab: str, revision: str, snapshot_id: str | None, rebuildable: int, total: int,
               report: dict[str, Any], created_by: str, actor_kind: str = "human") -> DrillReportRow:
    """Store a drill report (every secret-looking value masked) with its audit row; return the stored row."""
    with db.session() as s:
        row = DrillReportRow(lab=lab, revision=revision, snapshot_id=snapshot_id, rebuildable=rebuildable,
                             total=total, report=redact(report), created_by=created_by)
        s.add(row)
        s.flush()
        append_audit(s, lab=lab, entity_type="drill", entity_id=row.id, action="rebuild-drill",
                     actor=created_by, actor_kind=actor_kind, tool="drill",
                     arguments={"revision": revision, "snapshot_id": snapshot_id},
                     result={"rebuildable": rebuildable, "total": total})
        return row


def get_drill(db: Database, lab: str, drill_id: str) -> DrillReportRow | None:
    """One drill report of the lab by id or unique id prefix (at least 4 characters), or None."""
    with db.session() as s:
        row = s.get(DrillReportRow, drill_id)
        if row is not None:
            return row if row.lab == lab else None
        if len(drill_id) < 4:
            return None
        found = list(s.execute(select(DrillReportRow).where(DrillReportRow.lab == lab,
                                                            DrillReportRow.id.startswith(drill_id, autoescape=True))
                               .limit(2)).scalars())
        return found[0] if len(found) == 1 else None
