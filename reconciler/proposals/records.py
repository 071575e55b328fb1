"""Proposal rows: the typed view every caller (CLI, MCP, daemon) reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select

from reconciler.store.database import Database
from reconciler.store.tables import ProposalRow


class ProposalView(BaseModel):
    """A proposal: branch, commit, plan preview, risk and review state."""

    id: str
    lab: str
    title: str
    branch: str
    base_commit: str
    head_commit: str
    author: str
    reason: str | None = None
    evidence: dict[str, Any] = Field(default_factory=dict)
    files: list[str] = Field(default_factory=list)
    risk: str
    status: str = Field(description="open | merged | rejected")
    plan: dict[str, Any] = Field(default_factory=dict, description="Plan preview: counts, risk, actionable changes")
    rendered_diff: str | None = None
    forge_url: str | None = None
    merged_commit: str | None = None
    reviewed_by: str | None = None
    created_at: datetime | None = None

    @classmethod
    def from_row(cls, row: ProposalRow) -> ProposalView:
        """The view of a row."""
        return cls(id=row.id, lab=row.lab, title=row.title, branch=row.branch, base_commit=row.base_commit,
                   head_commit=row.head_commit, author=row.author, reason=row.reason, evidence=row.evidence or {},
                   files=list(row.files or []), risk=row.risk, status=row.status, plan=row.plan or {},
                   rendered_diff=row.rendered_diff, forge_url=row.forge_url, merged_commit=row.merged_commit,
                   reviewed_by=row.reviewed_by, created_at=row.created_at)

    def summary(self) -> str:
        """One line for people."""
        counts = self.plan.get("counts", {})
        ops = ", ".join(f"{n} {op}" for op, n in counts.items() if n and op != "noop") or "no changes"
        return f"{self.id} [{self.status}] {self.title} ({ops}; risk {self.risk}) on {self.branch}"


class ProposalNotFound(ValueError):
    """No proposal with that id (or branch)."""


def get_proposal(db: Database, proposal_id: str) -> ProposalView:
    """One proposal by id or branch; ProposalNotFound says how to list them."""
    with db.session() as s:
        row = s.get(ProposalRow, proposal_id)
        if row is None:
            row = s.execute(select(ProposalRow).where(ProposalRow.branch == proposal_id)).scalar_one_or_none()
        if row is None:
            raise ProposalNotFound(f"no proposal {proposal_id!r}; list them with `homeport proposals list` "
                                   "(or the list-proposals tool)")
        return ProposalView.from_row(row)


def list_proposals(db: Database, lab: str, status: str | None = None, limit: int = 100) -> list[ProposalView]:
    """Proposals of a lab, newest first, optionally only one status."""
    stmt = select(ProposalRow).where(ProposalRow.lab == lab)
    if status:
        stmt = stmt.where(ProposalRow.status == status)
    stmt = stmt.order_by(ProposalRow.created_at.desc(), ProposalRow.id).limit(limit)
    with db.session() as s:
        return [ProposalView.from_row(r) for r in s.execute(stmt).scalars()]
