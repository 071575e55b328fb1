"""proposal_whatifs: the stored what-if reports of proposals (the newest one is shown with the proposal)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from reconciler.store.audit import append_audit
from reconciler.store.database import Database
from reconciler.store.tables import ProposalWhatIfRow


def save_whatif(db: Database, *, lab: str, proposal_id: str, head_commit: str, main_commit: str,
                report: dict[str, Any], created_by: str, actor_kind: str = "human") -> str:
    """Store a what-if report with its audit row; return its id."""
    with db.session() as s:
        row = ProposalWhatIfRow(lab=lab, proposal_id=proposal_id, head_commit=head_commit, main_commit=main_commit,
                                report=report, created_by=created_by)
        s.add(row)
        s.flush()
        append_audit(s, lab=lab, entity_type="proposal", entity_id=proposal_id, action="proposal-whatif",
                     actor=created_by, actor_kind=actor_kind, tool="whatif", proposal_id=proposal_id,
                     arguments={"head_commit": head_commit, "main_commit": main_commit},
                     result={"summary": report.get("summary")})
        return row.id


def latest_whatif(db: Database, proposal_id: str) -> ProposalWhatIfRow | None:
    """The newest what-if of a proposal, or None."""
    with db.session() as s:
        return s.execute(select(ProposalWhatIfRow).where(ProposalWhatIfRow.proposal_id == proposal_id)
                         .order_by(ProposalWhatIfRow.created_at.desc()).limit(1)).scalar_one_or_none()
