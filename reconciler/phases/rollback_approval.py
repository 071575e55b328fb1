"""An approved rollback is its own approval: when main is exactly the merge of a rollback proposal a
person approved, its changes are not held back for risk (reconcile.max_auto_risk). Prune guards, sync
windows, pause and auto_apply still apply. A later commit on main ends the exemption."""

from __future__ import annotations

from sqlalchemy import select

from reconciler.store.database import Database
from reconciler.store.tables import ProposalRow

ROLLBACK_KEY = "rollback_to"


def approved_rollback(db: Database, lab: str, revision: str) -> str | None:
    """The id of the merged rollback proposal whose merge is `revision` (reviewed by a person), if any."""
    with db.session() as s:
        rows = s.execute(select(ProposalRow).where(ProposalRow.lab == lab, ProposalRow.status == "merged",
                                                   ProposalRow.merged_commit == revision)).scalars().all()
        for row in rows:
            if (row.evidence or {}).get(ROLLBACK_KEY) and row.reviewed_by and \
                    not row.reviewed_by.startswith(("agent:", "policy:")):
                return row.id
    return None
