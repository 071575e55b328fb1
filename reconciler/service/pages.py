"""Keyset pages of the database lists: one indexed query per page, no cap on how far a client may page.

Each function returns at most `limit` rows strictly after the key `after` in the list's order (ORDER BY a
stable, unique key; WHERE key beyond `after`; LIMIT). A door asks for limit+1 to know whether a next page
exists. Keys are the row's sort columns with its id last, so equal timestamps never hide or repeat a row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, defer

from reconciler.proposals.records import ProposalView
from reconciler.service.drill import DrillSummary
from reconciler.service.errors import Invalid, engine_errors
from reconciler.service.lab import LabService
from reconciler.service.queries import PROPOSAL_STATUSES
from reconciler.service.views import DeviationView, InstanceView, RunView, SnapshotView, TokenView
from reconciler.store.noop_index import index_checked_at
from reconciler.store.tables import (
    ApiTokenRow,
    DeploymentInstanceRow,
    DrillReportRow,
    InfrastructureSnapshotRow,
    ProposalRow,
    ReconcileRunRow,
    StateDeviationRow,
)
from reconciler.store.tokens import TokenInfo

TimeKey = tuple[datetime, str]


def _after(columns: list[InstrumentedAttribute[Any]], key: tuple[Any, ...], *, descending: bool) -> ColumnElement[bool]:
    """Rows strictly beyond `key` in lexicographic order of columns (descending or ascending on every one). The
    first column's bound is repeated outside the OR so the database seeks the (lab, key...) index to it instead
    of reading every newer row."""
    clauses: list[ColumnElement[bool]] = []
    for i, column in enumerate(columns):
        equal = [columns[j] == key[j] for j in range(i)]
        beyond = column < key[i] if descending else column > key[i]
        clauses.append(and_(*equal, beyond))
    bound = columns[0] <= key[0] if descending else columns[0] >= key[0]
    return and_(bound, or_(*clauses))


def _page(stmt: Select[Any], columns: list[InstrumentedAttribute[Any]], after: tuple[Any, ...] | None, *,
          limit: int, descending: bool) -> Select[Any]:
    if limit < 1:
        raise Invalid("limit must be at least 1")
    if after is not None:
        stmt = stmt.where(_after(columns, after, descending=descending))
    order = [c.desc() for c in columns] if descending else list(columns)
    return stmt.order_by(*order).limit(limit)


def runs(lab: LabService, *, after: TimeKey | None = None, limit: int = 50) -> list[RunView]:
    """Reconcile runs newest first by (started, id), after the key `after`."""
    stmt = _page(select(ReconcileRunRow).where(ReconcileRunRow.lab == lab.lab_name),
                 [ReconcileRunRow.started_at, ReconcileRunRow.id], after, limit=limit, descending=True)
    with engine_errors(), lab.session.db.session() as s:
        return [RunView.from_row(r) for r in s.execute(stmt).scalars()]


def deviation_timeline(lab: LabService, *, resource: str | None = None, after: TimeKey | None = None,
                       limit: int = 50) -> list[DeviationView]:
    """Every deviation, open and resolved, newest first by (first seen, id), after the key `after`."""
    stmt = select(StateDeviationRow).where(StateDeviationRow.lab == lab.lab_name)
    if resource is not None:
        stmt = stmt.where(StateDeviationRow.resource == resource)
    stmt = _page(stmt, [StateDeviationRow.detected_at, StateDeviationRow.id], after, limit=limit, descending=True)
    with engine_errors(), lab.session.db.session() as s:
        return [DeviationView.from_row(r) for r in s.execute(stmt).scalars()]


def open_deviations(lab: LabService, *, resource: str | None = None, after: tuple[str, str, str] | None = None,
                    limit: int = 50) -> list[DeviationView]:
    """Open deviations by (resource, field, id), after the key `after`."""
    stmt = select(StateDeviationRow).where(StateDeviationRow.lab == lab.lab_name,
                                           StateDeviationRow.resolved_at.is_(None))
    if resource is not None:
        stmt = stmt.where(StateDeviationRow.resource == resource)
    stmt = _page(stmt, [StateDeviationRow.resource, StateDeviationRow.field_path, StateDeviationRow.id], after,
                 limit=limit, descending=False)
    with engine_errors(), lab.session.db.session() as s:
        return [DeviationView.from_row(r) for r in s.execute(stmt).scalars()]


def snapshots(lab: LabService, *, after: TimeKey | None = None, limit: int = 50) -> list[SnapshotView]:
    """Stored snapshots newest first by (created, id), without their data (it is never read)."""
    stmt = (select(InfrastructureSnapshotRow).options(defer(InfrastructureSnapshotRow.snapshot_data))
            .where(InfrastructureSnapshotRow.lab == lab.lab_name))
    stmt = _page(stmt, [InfrastructureSnapshotRow.created_at, InfrastructureSnapshotRow.id], after, limit=limit,
                 descending=True)
    with engine_errors(), lab.session.db.session() as s:
        return [SnapshotView.from_row(r) for r in s.execute(stmt).scalars()]


def proposals(lab: LabService, *, status: str | None = None, after: TimeKey | None = None,
              limit: int = 50) -> list[ProposalView]:
    """Proposals newest first by (created, id), optionally of one status (open, merged, rejected)."""
    if status is not None and status not in PROPOSAL_STATUSES:
        raise Invalid(f"unknown proposal status {status!r}; choose from {', '.join(PROPOSAL_STATUSES)}")
    stmt = select(ProposalRow).where(ProposalRow.lab == lab.lab_name)
    if status is not None:
        stmt = stmt.where(ProposalRow.status == status)
    stmt = _page(stmt, [ProposalRow.created_at, ProposalRow.id], after, limit=limit, descending=True)
    with engine_errors(), lab.session.db.session() as s:
        return [ProposalView.from_row(r) for r in s.execute(stmt).scalars()]


def instances(lab: LabService, *, after: tuple[str, str] | None = None, limit: int = 50) -> list[InstanceView]:
    """Recorded instances by (name, id), after the key `after`."""
    name = lab.lab_name
    stmt = _page(select(DeploymentInstanceRow).where(DeploymentInstanceRow.lab == name),
                 [DeploymentInstanceRow.name, DeploymentInstanceRow.id], after, limit=limit, descending=False)
    with engine_errors():
        checked = index_checked_at(lab.session.db, name)
        with lab.session.db.session() as s:
            return [InstanceView.from_row(r, checked) for r in s.execute(stmt).scalars()]


def tokens(lab: LabService, *, after: TimeKey | None = None, limit: int = 50) -> list[TokenView]:
    """API tokens oldest first by (created, id), revoked ones too; never a secret."""
    stmt = _page(select(ApiTokenRow).where(ApiTokenRow.lab == lab.lab_name_or_folder()),
                 [ApiTokenRow.created_at, ApiTokenRow.id], after, limit=limit, descending=False)
    with engine_errors(), lab.session.db.session() as s:
        return [TokenView.from_info(TokenInfo.from_row(r)) for r in s.execute(stmt).scalars()]


def proposal_count(lab: LabService, *, status: str | None = None) -> int:
    """How many proposals the lab has (of one status), counted in the database."""
    stmt = select(func.count()).select_from(ProposalRow).where(ProposalRow.lab == lab.lab_name)
    if status is not None:
        stmt = stmt.where(ProposalRow.status == status)
    with engine_errors(), lab.session.db.session() as s:
        return int(s.execute(stmt).scalar_one())


def drills(lab: LabService, *, after: TimeKey | None = None, limit: int = 50) -> list[DrillSummary]:
    """Stored rebuild drill reports newest first by (created, id), as summaries."""
    stmt = _page(select(DrillReportRow).where(DrillReportRow.lab == lab.lab_name),
                 [DrillReportRow.created_at, DrillReportRow.id], after, limit=limit, descending=True)
    with engine_errors(), lab.session.db.session() as s:
        return [DrillSummary.from_row(r) for r in s.execute(stmt).scalars()]
