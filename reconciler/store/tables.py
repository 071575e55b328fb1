"""SQLAlchemy 2 tables: the seed's records plus runs, intents, proposals, tokens and provider state.

JSON columns are JSONB on PostgreSQL. Ids are 32-hex-char UUID strings so SQLite and PostgreSQL agree.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine


class JsonType(TypeDecorator[Any]):
    """JSON, stored as JSONB on PostgreSQL. PostgreSQL's dialect module is imported only when a PostgreSQL
    database is used: a command on a SQLite lab never loads it."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """JSONB on PostgreSQL, JSON elsewhere."""
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())


JsonColumn: TypeEngine[Any] = JsonType()


def new_id() -> str:
    """A fresh primary key."""
    return uuid.uuid4().hex


def now_utc() -> datetime:
    """Timestamps are stored in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of homeport's tables."""


class ResourcePoolRow(Base):
    """The pool hierarchy, indexed from Git at each run."""

    __tablename__ = "resource_pools"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    lab: Mapped[str] = mapped_column(String(63), index=True)
    name: Mapped[str] = mapped_column(String(255))
    full_path: Mapped[str] = mapped_column(String(500))
    parent_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    pool_type: Mapped[str] = mapped_column(String(50))
    provider: Mapped[str | None] = mapped_column(String(63), nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    properties: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    capacity: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    revision: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now_utc, onupdate=now_utc)
    __table_args__ = (UniqueConstraint("lab", "full_path", name="uq_pool_lab_path"),)


class DeploymentTemplateRow(Base):
    """Templates, indexed from Git at each run."""

    __tablename__ = "deployment_templates"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    lab: Mapped[str] = mapped_column(String(63), index=True)
    name: Mapped[str] = mapped_column(String(255))
    template_type: Mapped[str] = mapped_column(String(50))
    terraform_module_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    ansible_playbook_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    default_parameters: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    required_parameters: Mapped[list[Any]] = mapped_column(JsonColumn, default=list)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[str] = mapped_column(String(50), default="1.0.0")
    revision: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now_utc, onupdate=now_utc)
    __table_args__ = (UniqueConstraint("lab", "name", name="uq_template_lab_name"),)


class ResourceDimensionRow(Base):
    """Dimensions of pools, instances and templates, one row per name."""

    __tablename__ = "resource_dimensions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    lab: Mapped[str] = mapped_column(String(63))
    resource_id: Mapped[str] = mapped_column(String(255))
    resource_type: Mapped[str] = mapped_column(String(50))
    dimension_name: Mapped[str] = mapped_column(String(100))
    dimension_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    dimension_type: Mapped[str] = mapped_column(String(50), default="string")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now_utc)
    __table_args__ = (Index("idx_dimensions_resource", "lab", "resource_id", "resource_type"),)


class DeploymentInstanceRow(Base):
    """One managed resource: expected vs actual state, deviation, status, revisions."""

    __tablename__ = "deployment_instances"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    lab: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(255))
    provider: Mapped[str] = mapped_column(String(63))
    provider_type: Mapped[str] = mapped_column(String(32))
    provider_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    node: Mapped[str | None] = mapped_column(String(255), nullable=True)
    pool_path: Mapped[str | None] = mapped_column(String(500), nullable=True)
    template: Mapped[str | None] = mapped_column(String(255), nullable=True)
    parameters: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    status: Mapped[str] = mapped_column(String(50), default="pending", index=True)
    ip_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    expected_state: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    actual_state: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    last_applied_state: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    state_last_checked: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    deviation_detected: Mapped[bool] = mapped_column(Boolean, default=False)
    deviation_details: Mapped[list[Any]] = mapped_column(JsonColumn, default=list)
    configuration: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    last_applied_revision: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_attempted_revision: Mapped[str | None] = mapped_column(String(64), nullable=True)
    template_candidate: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now_utc, onupdate=now_utc)
    deployed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    destroyed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # (lab, updated_at): the records fingerprint MCP reads check on every call (service.queries.records_version)
    # takes max(updated_at) from the index instead of reading every row of the lab.
    __table_args__ = (UniqueConstraint("lab", "name", name="uq_instance_lab_name"),
                      Index("idx_instances_lab_updated", "lab", "updated_at"))


class InfrastructureSnapshotRow(Base):
    """The observed inventory plus the desired state at a revision, secrets left out."""

    __tablename__ = "infrastructure_snapshots"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    lab: Mapped[str] = mapped_column(String(63), index=True)
    name: Mapped[str] = mapped_column(String(255))
    snapshot_type: Mapped[str] = mapped_column(String(50), default="discovery")
    revision: Mapped[str | None] = mapped_column(String(64), nullable=True)
    snapshot_data: Mapped[dict[str, Any]] = mapped_column(JsonColumn)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now_utc)
    created_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    __table_args__ = (Index("idx_snapshots_lab_created", "lab", "created_at", "id"),)


class StateDeviationRow(Base):
    """One drifted field of one instance, from first seen to resolution."""

    __tablename__ = "state_deviations"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    lab: Mapped[str] = mapped_column(String(63), index=True)
    instance_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("deployment_instances.id", ondelete="SET NULL"), nullable=True
    )
    resource: Mapped[str] = mapped_column(String(255))
    field_path: Mapped[str] = mapped_column(String(500))
    deviation_type: Mapped[str] = mapped_column(String(50), default="config_drift")
    expected_value: Mapped[Any] = mapped_column(JsonColumn, nullable=True)
    actual_value: Mapped[Any] = mapped_column(JsonColumn, nullable=True)
    severity: Mapped[str] = mapped_column(String(20), default="medium")
    auto_correctable: Mapped[bool] = mapped_column(Boolean, default=False)
    corrective_action: Mapped[str | None] = mapped_column(Text, nullable=True)
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now_utc)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now_utc)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    resolution: Mapped[str | None] = mapped_column(String(50), nullable=True)
    __table_args__ = (Index("idx_deviation_open", "lab", "resource", "field_path", "resolved_at"),
                      Index("idx_deviations_lab_detected", "lab", "detected_at", "id"),
                      Index("idx_deviations_lab_seen", "lab", "last_seen_at"),
                      Index("idx_deviations_lab_resolved", "lab", "resolved_at"))


class GeneratedTemplateRow(Base):
    """Templates learned from running instances."""

    __tablename__ = "generated_templates"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    lab: Mapped[str] = mapped_column(String(63), index=True)
    source_instance_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    template_name: Mapped[str] = mapped_column(String(255))
    confidence_score: Mapped[float] = mapped_column(Float, default=0.0)
    usage_count: Mapped[int] = mapped_column(Integer, default=0)
    success_rate: Mapped[float] = mapped_column(Float, default=0.0)
    learned_optimizations: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    template_config: Mapped[dict[str, Any]] = mapped_column(JsonColumn)
    proposal_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now_utc)
    last_used: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AuditLogRow(Base):
    """Append-only: who did what with which arguments and what came of it; hash-chained."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True, default=new_id)
    lab: Mapped[str] = mapped_column(String(63), index=True)
    entity_type: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(80))
    actor: Mapped[str] = mapped_column(String(255))
    actor_kind: Mapped[str] = mapped_column(String(20), default="system")
    tool: Mapped[str | None] = mapped_column(String(120), nullable=True)
    arguments: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    outcome: Mapped[str] = mapped_column(String(20), default="ok")
    run_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    proposal_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    duration_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now_utc)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))


class ReconcileRunRow(Base):
    """One reconcile attempt: revision, trigger, phase timings, outcome."""

    __tablename__ = "reconcile_runs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    lab: Mapped[str] = mapped_column(String(63), index=True)
    revision: Mapped[str | None] = mapped_column(String(64), nullable=True)
    trigger: Mapped[str] = mapped_column(String(50), default="manual")
    mode: Mapped[str] = mapped_column(String(20), default="apply")
    status: Mapped[str] = mapped_column(String(20), default="running")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now_utc)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    phase_timings: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    summary: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class ApplyIntentRow(Base):
    """Written before a provider call that changes something, marked done after (crash-safe apply)."""

    __tablename__ = "apply_intents"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    lab: Mapped[str] = mapped_column(String(63), index=True)
    run_id: Mapped[str] = mapped_column(String(32), ForeignKey("reconcile_runs.id"))
    resource: Mapped[str] = mapped_column(String(255))
    provider: Mapped[str] = mapped_column(String(63))
    op: Mapped[str] = mapped_column(String(20))
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    change: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now_utc)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ProposalRow(Base):
    """An agent's or person's proposed change: branch, commit, plan preview, review state."""

    __tablename__ = "proposals"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    lab: Mapped[str] = mapped_column(String(63), index=True)
    title: Mapped[str] = mapped_column(String(255))
    branch: Mapped[str] = mapped_column(String(255), unique=True)
    base_commit: Mapped[str] = mapped_column(String(64))
    head_commit: Mapped[str] = mapped_column(String(64))
    author: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    evidence: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    files: Mapped[list[Any]] = mapped_column(JsonColumn, default=list)
    plan: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    risk: Mapped[str] = mapped_column(String(10), default="low")
    rendered_diff: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    forge_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    merged_commit: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now_utc, onupdate=now_utc)
    __table_args__ = (Index("idx_proposals_lab_created", "lab", "created_at", "id"),)


class ApiTokenRow(Base):
    """Bearer tokens for the MCP HTTP transport, stored as SHA-256 hashes with their scopes."""

    __tablename__ = "api_tokens"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    lab: Mapped[str] = mapped_column(String(63), index=True)
    name: Mapped[str] = mapped_column(String(255))
    owner: Mapped[str] = mapped_column(String(255))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JsonColumn, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now_utc)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ProviderStateRow(Base):
    """Small durable provider state (the sim provider's resources, VMID reservations)."""

    __tablename__ = "provider_state"
    lab: Mapped[str] = mapped_column(String(63), primary_key=True)
    provider: Mapped[str] = mapped_column(String(63), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[Any] = mapped_column(JsonColumn, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now_utc, onupdate=now_utc)


class ProposalWhatIfRow(Base):
    """A what-if of a proposal: its plan, placements and capacity on a simulated copy of the live lab."""

    __tablename__ = "proposal_whatifs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    proposal_id: Mapped[str] = mapped_column(String(64), index=True)
    lab: Mapped[str] = mapped_column(String(63))
    head_commit: Mapped[str] = mapped_column(String(64))
    main_commit: Mapped[str] = mapped_column(String(64))
    report: Mapped[dict[str, Any]] = mapped_column(JsonColumn)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now_utc)
    created_by: Mapped[str] = mapped_column(String(255))


class DrillReportRow(Base):
    """A rebuild drill's report: its score and, per resource, restored or not restorable and why (redacted)."""

    __tablename__ = "drill_reports"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    lab: Mapped[str] = mapped_column(String(63))
    revision: Mapped[str] = mapped_column(String(64))
    snapshot_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    rebuildable: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    report: Mapped[dict[str, Any]] = mapped_column(JsonColumn)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now_utc)
    created_by: Mapped[str] = mapped_column(String(255))
    __table_args__ = (Index("idx_drill_reports_lab_created", "lab", "created_at", "id"),)


class ReconcileIndexRow(Base):
    """The no-op index of a lab: what the last fully converged run saw, so an unchanged run can skip its work.

    Valid only together: the commit tree, the engine (homeport version, built-in charts), the instance rows'
    stamp and each provider's observation digest. Deleted when a full run starts; written when one converges.
    """

    __tablename__ = "reconcile_index"
    lab: Mapped[str] = mapped_column(String(63), primary_key=True)
    tree_id: Mapped[str] = mapped_column(String(64))
    engine: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[str] = mapped_column(String(32))
    revision: Mapped[str] = mapped_column(String(64))
    db_stamp: Mapped[str] = mapped_column(String(200))
    providers: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    plan_extras: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    resources: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now_utc)
    checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ReconcileIndexResourceRow(Base):
    """One resource in the no-op index: the blob ids of its inputs (hashed), its observation fingerprint and the
    no-op change the last full run planned for it."""

    __tablename__ = "reconcile_index_resources"
    lab: Mapped[str] = mapped_column(String(63), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    provider: Mapped[str] = mapped_column(String(63))
    provider_type: Mapped[str] = mapped_column(String(32))
    node: Mapped[str | None] = mapped_column(String(255), nullable=True)
    provider_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    input_key: Mapped[str] = mapped_column(String(64))
    render_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    observed: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
