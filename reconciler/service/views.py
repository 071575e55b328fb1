"""What the service returns: pydantic models a CLI table, an MCP result and a JSON API body are all made from.

Each view is built from one store row or engine result by a `from_*` constructor, so the doors never see
SQLAlchemy rows and the rule for a field (for example whether an instance matches Git) lives here once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from reconciler.models.plan import Plan
from reconciler.phases.run import RunResult
from reconciler.phases.snapshot import MigrationReadiness, SnapshotDocument, SnapshotResource, SnapshotSummary
from reconciler.proposals.preview import counts_line, plan_preview
from reconciler.proposals.records import ProposalView
from reconciler.proposals.review import MergeResult
from reconciler.store.audit import ChainReport
from reconciler.store.tables import (
    AuditLogRow,
    DeploymentInstanceRow,
    InfrastructureSnapshotRow,
    ReconcileRunRow,
    StateDeviationRow,
)
from reconciler.store.tokens import TokenInfo

if TYPE_CHECKING:  # the apply machinery (and the renderer it imports) is loaded only by runs that apply
    from reconciler.phases.apply import ApplyOutcome

__all__ = [
    "ApplyOutcomeView",
    "ApproveResult",
    "AuditChain",
    "AuditEntry",
    "CreatedToken",
    "DeviationView",
    "InstanceView",
    "LabStatus",
    "MigrationReadiness",
    "PlanReport",
    "ProposalView",
    "RunReport",
    "RunView",
    "SnapshotCreated",
    "SnapshotDocument",
    "SnapshotResource",
    "SnapshotView",
    "TokenView",
    "counts_line",
    "plan_preview",
]


def instance_matches(status: str, deviation_detected: bool) -> bool:
    """Whether a managed resource matches Git: running and no open deviation (the one rule every door uses)."""
    return status == "running" and not deviation_detected


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    """The later of two times, either possibly naive UTC (SQLite returns them naive)."""
    if a is None or b is None:
        return a or b
    aware = [t if t.tzinfo is not None else t.replace(tzinfo=UTC) for t in (a, b)]
    return a if aware[0] >= aware[1] else b


class InstanceView(BaseModel):
    """One managed resource as the database last recorded it."""

    name: str
    provider: str
    provider_type: str
    node: str | None = None
    provider_id: str | None = None
    pool_path: str | None = None
    template: str | None = None
    status: str = Field(description="pending | running | stopped | failed | deleted | ...")
    matches: bool = Field(description="Running and no open deviation: the live resource matches Git")
    deviation_detected: bool = False
    deviation_details: list[Any] = Field(default_factory=list)
    ip_address: str | None = None
    last_applied_revision: str | None = None
    last_attempted_revision: str | None = None
    error: str | None = None
    state_last_checked: datetime | None = None
    configuration: dict[str, Any] = Field(default_factory=dict)
    expected_state: dict[str, Any] = Field(default_factory=dict)
    actual_state: dict[str, Any] = Field(default_factory=dict)
    parameters: dict[str, Any] = Field(default_factory=dict)
    retry: dict[str, Any] | None = Field(default=None, description="Transient-error backoff, when waiting")
    created_at: datetime | None = None
    deployed_at: datetime | None = None
    destroyed_at: datetime | None = None
    id: str | None = None

    @classmethod
    def from_row(cls, row: DeploymentInstanceRow, checked: datetime | None = None) -> InstanceView:
        """The view of an instance row. checked: when a later run found the lab unchanged through the no-op index
        (which checks every live instance without writing each row)."""
        params = dict(row.parameters or {})
        retry = params.get("retry")
        return cls(
            id=row.id, name=row.name, provider=row.provider, provider_type=row.provider_type, node=row.node,
            provider_id=row.provider_id, pool_path=row.pool_path, template=row.template, status=row.status,
            matches=instance_matches(row.status, bool(row.deviation_detected)),
            deviation_detected=bool(row.deviation_detected), deviation_details=list(row.deviation_details or []),
            ip_address=row.ip_address, last_applied_revision=row.last_applied_revision,
            last_attempted_revision=row.last_attempted_revision, error=row.error_message,
            state_last_checked=_later(row.state_last_checked, checked if row.destroyed_at is None else None),
            configuration=dict(row.configuration or {}),
            expected_state=dict(row.expected_state or {}), actual_state=dict(row.actual_state or {}),
            parameters=params, retry=retry if isinstance(retry, dict) else None, created_at=row.created_at,
            deployed_at=row.deployed_at, destroyed_at=row.destroyed_at)

    @property
    def live(self) -> bool:
        """Not deleted."""
        return self.status != "deleted"


class DeviationView(BaseModel):
    """One drifted field of one resource, open until resolved."""

    id: str | None = None
    resource: str
    field: str = Field(description="Provider field path, or '(resource)' when the resource is missing live")
    expected: Any = Field(default=None, description="Declared value")
    actual: Any = Field(default=None, description="Live value")
    deviation_type: str = "config_drift"
    severity: str = "medium"
    auto_correctable: bool = False
    corrective_action: str | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None

    @classmethod
    def from_row(cls, row: StateDeviationRow) -> DeviationView:
        """The view of a deviation row."""
        return cls(id=row.id, resource=row.resource, field=row.field_path, expected=row.expected_value,
                   actual=row.actual_value, deviation_type=row.deviation_type, severity=row.severity,
                   auto_correctable=bool(row.auto_correctable), corrective_action=row.corrective_action,
                   first_seen=row.detected_at, last_seen=row.last_seen_at, resolved_at=row.resolved_at,
                   resolution=row.resolution)


class RunView(BaseModel):
    """One recorded reconcile run."""

    id: str
    status: str = Field(description="running | ok | partial | failed | invalid | skipped | declined | interrupted")
    revision: str | None = None
    trigger: str
    mode: str
    started_at: datetime | None = None
    finished_at: datetime | None = None
    phase_timings: dict[str, Any] = Field(default_factory=dict)
    summary: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None

    @classmethod
    def from_row(cls, row: ReconcileRunRow) -> RunView:
        """The view of a run row."""
        return cls(id=row.id, status=row.status, revision=row.revision, trigger=row.trigger, mode=row.mode,
                   started_at=row.started_at, finished_at=row.finished_at, phase_timings=dict(row.phase_timings or {}),
                   summary=dict(row.summary or {}), error=row.error)

    @property
    def duration_seconds(self) -> float | None:
        """How long the run took (None while running)."""
        if self.finished_at is None or self.started_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def counts_text(self) -> str:
        """'2 applied, 1 failed' (or 'no changes' for a clean run)."""
        parts = [f"{self.summary[k]} {k}" for k in ("applied", "failed", "blocked", "drifted") if self.summary.get(k)]
        return ", ".join(parts) or ("no changes" if self.status == "ok" else "")


class AuditEntry(BaseModel):
    """One row of the append-only audit log (arguments and results already redacted)."""

    seq: int
    id: str
    time: datetime
    lab: str
    entity_type: str
    entity: str
    action: str
    actor: str
    actor_kind: str
    tool: str | None = None
    outcome: str
    run_id: str | None = None
    proposal_id: str | None = None
    duration_ms: float | None = None
    arguments: dict[str, Any] = Field(default_factory=dict)
    result: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_row(cls, row: AuditLogRow) -> AuditEntry:
        """The view of an audit row."""
        return cls(seq=row.seq, id=row.id, time=row.timestamp, lab=row.lab, entity_type=row.entity_type,
                   entity=row.entity_id, action=row.action, actor=row.actor, actor_kind=row.actor_kind,
                   tool=row.tool, outcome=row.outcome, run_id=row.run_id, proposal_id=row.proposal_id,
                   duration_ms=row.duration_ms, arguments=dict(row.arguments or {}), result=dict(row.result or {}))


class AuditChain(BaseModel):
    """The result of re-computing the audit log's hash chain."""

    rows: int
    ok: bool
    first_bad_seq: int | None = None
    problem: str = ""

    @classmethod
    def from_report(cls, report: ChainReport) -> AuditChain:
        """The view of a chain report."""
        return cls(rows=report.rows, ok=report.ok, first_bad_seq=report.first_bad_seq, problem=report.problem)


class TokenView(BaseModel):
    """An API token's record; never its secret."""

    id: str
    lab: str
    name: str
    owner: str
    scopes: list[str]
    created_at: datetime | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @classmethod
    def from_info(cls, info: TokenInfo) -> TokenView:
        """The view of a token record."""
        return cls(id=info.id, lab=info.lab, name=info.name, owner=info.owner, scopes=list(info.scopes),
                   created_at=info.created_at, expires_at=info.expires_at, revoked_at=info.revoked_at,
                   last_used_at=info.last_used_at)

    @property
    def active(self) -> bool:
        """Not revoked (expiry is checked when the token is used)."""
        return self.revoked_at is None


class CreatedToken(BaseModel):
    """A new token: the secret is shown once, here, and never stored."""

    secret: str = Field(description="The bearer token; store it now, homeport keeps only its hash")
    token: TokenView


class SnapshotView(BaseModel):
    """A stored snapshot; `data` only when asked for."""

    id: str
    name: str
    snapshot_type: str
    revision: str | None = None
    created_at: datetime | None = None
    created_by: str | None = None
    notes: str | None = None
    data: dict[str, Any] | None = None

    @classmethod
    def from_row(cls, row: InfrastructureSnapshotRow, *, with_data: bool = False) -> SnapshotView:
        """The view of a snapshot row."""
        return cls(id=row.id, name=row.name, snapshot_type=row.snapshot_type, revision=row.revision,
                   created_at=row.created_at, created_by=row.created_by, notes=row.notes,
                   data=dict(row.snapshot_data or {}) if with_data else None)

    def document(self) -> SnapshotDocument:
        """The stored data as the one snapshot document, whichever door (and schema) wrote it."""
        return SnapshotDocument.from_stored(self.data or {})


class SnapshotCreated(BaseModel):
    """What taking a snapshot stored, in numbers."""

    id: str
    name: str
    revision: str
    resources_desired: int
    resources_observed: int
    providers_unavailable: list[str] = Field(default_factory=list)
    resources: list[str] = Field(default_factory=list, description="Managed resources captured, by name")
    readiness: MigrationReadiness | None = None

    @classmethod
    def from_summary(cls, summary: SnapshotSummary) -> SnapshotCreated:
        """The view of a snapshot summary."""
        return cls(id=summary.id, name=summary.name, revision=summary.revision,
                   resources_desired=summary.resources_desired, resources_observed=summary.resources_observed,
                   providers_unavailable=list(summary.providers_unavailable),
                   resources=sorted(summary.document.resources), readiness=summary.document.readiness)


class LabStatus(BaseModel):
    """A lab at a glance: its managed resources, open deviations and latest runs."""

    lab: str
    instances: list[InstanceView]
    deviations: list[DeviationView]
    runs: list[RunView]

    @property
    def live(self) -> list[InstanceView]:
        """Instances that are not deleted."""
        return [i for i in self.instances if i.live]


class PlanReport(BaseModel):
    """A computed plan and the revision it is for."""

    ref: str = Field(description="The branch or commit asked for")
    revision: str = Field(description="The commit id planned")
    on_main: bool = Field(description="Whether the commit is on the lab's main branch (only those are applied)")
    plan: Plan
    unavailable: dict[str, str] = Field(default_factory=dict, description="Providers that could not be observed")
    timings: dict[str, float] = Field(default_factory=dict)
    skipped_by_index: int = Field(default=0, description="Resources planned from the no-op index (nothing changed)")
    index_note: str = Field(default="", description="Why the no-op index was used or not")


class ApplyOutcomeView(BaseModel):
    """What applying one change did."""

    resource: str
    op: str
    status: str
    message: str
    attempts: int = 1
    error_kind: str | None = None
    provider: str = ""

    @classmethod
    def from_outcome(cls, outcome: ApplyOutcome) -> ApplyOutcomeView:
        """The view of an executor outcome."""
        return cls(resource=outcome.change.resource, op=outcome.change.op.value, status=str(outcome.status),
                   message=outcome.message, attempts=outcome.attempts, provider=outcome.change.provider,
                   error_kind=str(outcome.error_kind) if outcome.error_kind else None)


class RunReport(BaseModel):
    """The outcome of one reconcile run started through the service."""

    run_id: str | None
    status: str = Field(description="ok | partial | failed | invalid | skipped | declined")
    revision: str | None = None
    plan: Plan | None = None
    outcomes: list[ApplyOutcomeView] = Field(default_factory=list)
    counts: dict[str, int] = Field(default_factory=dict)
    timings: dict[str, float] = Field(default_factory=dict)
    error: str | None = None
    notes: list[str] = Field(default_factory=list)
    skipped_by_index: int = Field(default=0, description="Resources planned from the no-op index (nothing changed)")
    index_note: str = Field(default="", description="Why the no-op index was used or not")

    @classmethod
    def from_result(cls, result: RunResult) -> RunReport:
        """The view of a run result."""
        return cls(run_id=result.run_id, status=str(result.status), revision=result.revision, plan=result.plan,
                   outcomes=[ApplyOutcomeView.from_outcome(o) for o in result.outcomes], counts=dict(result.counts),
                   timings=dict(result.timings), error=result.error, notes=list(result.notes),
                   skipped_by_index=result.skipped_by_index, index_note=result.index_note)

    @property
    def succeeded(self) -> bool:
        """Whether the run ended without failures (ok, skipped or declined)."""
        return self.status not in ("failed", "invalid", "partial")


class ApproveResult(BaseModel):
    """What approving a proposal did."""

    proposal: ProposalView
    merged_commit: str
    fast_forward: bool
    worktree_updated: bool
    note: str

    @classmethod
    def from_merge(cls, merge: MergeResult) -> ApproveResult:
        """The view of a merge result."""
        return cls(proposal=merge.proposal, merged_commit=merge.merged_commit, fast_forward=merge.fast_forward,
                   worktree_updated=merge.worktree_updated, note=merge.note)
