"""Read-only questions about a lab: what is managed, what drifted, what ran, who did what, what is declared.

Every function takes an open `LabService` and returns pydantic views (or the desired-state kinds from
`reconciler.models`), raising `ServiceError`s with stable codes. Records come from the database; what
is declared (pools, templates, resources) comes from Git at main.
"""

from __future__ import annotations

from sqlalchemy import select, text

from reconciler.models.effective import EffectiveResource
from reconciler.models.placement import CapacityReport
from reconciler.models.pool import ResourcePool
from reconciler.models.template import DeploymentTemplate
from reconciler.plan.capacity import capacity_report
from reconciler.proposals.records import ProposalView, get_proposal, list_proposals
from reconciler.service.errors import Invalid, NotFound, engine_errors
from reconciler.service.lab import LabService
from reconciler.service.views import (
    AuditChain,
    AuditEntry,
    DeviationView,
    InstanceView,
    LabStatus,
    RunView,
    SnapshotView,
    TokenView,
)
from reconciler.store.audit import recent_audit, resource_audit, verify_chain
from reconciler.store.deviations import list_open_deviations
from reconciler.store.instances import find_instance, list_instances
from reconciler.store.noop_index import index_checked_at
from reconciler.store.runs import recent_runs
from reconciler.store.snapshots import get_snapshot, list_snapshots
from reconciler.store.tables import AuditLogRow
from reconciler.store.tokens import list_tokens

PROPOSAL_STATUSES = ("open", "merged", "rejected")


def status(lab: LabService, *, runs: int = 5) -> LabStatus:
    """Every managed resource, the open deviations and the latest runs (one lab-name lookup, three queries)."""
    name = lab.lab_name
    with engine_errors():
        checked = index_checked_at(lab.session.db, name)
        return LabStatus(
            lab=name,
            instances=[InstanceView.from_row(r, checked) for r in list_instances(lab.session.db, name)],
            deviations=[DeviationView.from_row(d) for d in list_open_deviations(lab.session.db, name)],
            runs=[RunView.from_row(r) for r in recent_runs(lab.session.db, name, limit=runs)],
        )


def instances(lab: LabService, *, include_deleted: bool = True) -> list[InstanceView]:
    """Every recorded instance of the lab, by name."""
    with engine_errors():
        name = lab.lab_name
        checked = index_checked_at(lab.session.db, name)
        rows = [InstanceView.from_row(r, checked) for r in list_instances(lab.session.db, name)]
    return rows if include_deleted else [r for r in rows if r.live]


# One statement, compiled once: each part is an index range scan of one lab's rows.
_RECORDS_VERSION = text(
    "SELECT (SELECT count(*) FROM deployment_instances WHERE lab = :lab),"
    " (SELECT max(updated_at) FROM deployment_instances WHERE lab = :lab),"
    " (SELECT count(*) FROM state_deviations WHERE lab = :lab),"
    " (SELECT max(last_seen_at) FROM state_deviations WHERE lab = :lab),"
    " (SELECT max(resolved_at) FROM state_deviations WHERE lab = :lab)"
)


def records_version(lab: LabService, name: str | None = None) -> tuple[object, ...]:
    """A fingerprint of the lab's instance and deviation records, from one query: it changes when a row is
    added, removed or updated (`updated_at`, `last_seen_at`, `resolved_at`), so a long-lived reader may keep
    what it derived from the records until it does. name: the lab's name when the caller knows it."""
    lab_name = name or lab.lab_name
    with engine_errors(), lab.session.db.engine.connect() as conn:
        row = conn.execute(_RECORDS_VERSION, {"lab": lab_name}).one()
    return (lab_name, *row)


def instance(lab: LabService, ref: str) -> InstanceView:
    """One recorded instance by resource name, instance id or provider id (tried in that order).

    NotFound says whether the resource is declared but not applied yet.
    """
    with engine_errors():
        row = find_instance(lab.session.db, lab.lab_name, ref)
        checked = index_checked_at(lab.session.db, lab.lab_name) if row is not None else None
    if row is not None:
        return InstanceView.from_row(row, checked)
    declared = ref in lab.state().resources
    hint = ("it is declared in Git but not applied yet: run `homeport apply` (or wait for the daemon)" if declared
            else "list managed resources with `homeport status` (or discover-infrastructure-context)")
    raise NotFound(f"no recorded instance {ref!r}; {hint}")


def deviations(lab: LabService, resource: str | None = None) -> list[DeviationView]:
    """Open deviations of the lab (or of one resource), by resource and field."""
    with engine_errors():
        rows = list_open_deviations(lab.session.db, lab.lab_name)
    views = [DeviationView.from_row(d) for d in rows]
    return views if resource is None else [d for d in views if d.resource == resource]


def runs(lab: LabService, *, limit: int = 20) -> list[RunView]:
    """Reconcile runs, newest first."""
    with engine_errors():
        return [RunView.from_row(r) for r in recent_runs(lab.session.db, lab.lab_name, limit=limit)]


def snapshots(lab: LabService, *, limit: int = 50, with_data: bool = False) -> list[SnapshotView]:
    """Stored snapshots, newest first."""
    with engine_errors():
        rows = list_snapshots(lab.session.db, lab.lab_name, limit=limit)
        return [SnapshotView.from_row(r, with_data=with_data) for r in rows]


def snapshot(lab: LabService, snapshot_id: str) -> SnapshotView:
    """One snapshot with its data, by id or unique id prefix."""
    with engine_errors():
        row = get_snapshot(lab.session.db, lab.lab_name, snapshot_id)
        if row is None:
            raise NotFound(f"no snapshot {snapshot_id!r} (or the prefix is not unique); see `homeport snapshot list`")
        return SnapshotView.from_row(row, with_data=True)


def proposals(lab: LabService, *, status: str | None = None, limit: int = 100) -> list[ProposalView]:
    """Proposals of the lab, newest first, optionally of one status (open, merged, rejected)."""
    if status is not None and status not in PROPOSAL_STATUSES:
        raise Invalid(f"unknown proposal status {status!r}; choose from {', '.join(PROPOSAL_STATUSES)}")
    with engine_errors():
        return list_proposals(lab.session.db, lab.lab_name, status=status, limit=limit)


def proposal(lab: LabService, proposal_id: str) -> ProposalView:
    """One proposal by id or branch."""
    with engine_errors():
        return get_proposal(lab.session.db, proposal_id)


def audit(lab: LabService, *, resource: str | None = None, limit: int = 50) -> list[AuditEntry]:
    """The newest audit rows of the lab (or about one resource), oldest first."""
    name = lab.lab_name
    with engine_errors():
        rows = (resource_audit(lab.session.db, name, resource, limit) if resource
                else recent_audit(lab.session.db, name, limit=limit))
        return [AuditEntry.from_row(r) for r in rows]


def audit_recorded(lab: LabService, *, lab_name: str, action: str, entity: str) -> bool:
    """Whether the audit log holds a row of this action about this entity (durable de-duplication)."""
    stmt = (select(AuditLogRow.seq)
            .where(AuditLogRow.lab == lab_name, AuditLogRow.action == action, AuditLogRow.entity_id == entity).limit(1))
    with engine_errors(), lab.session.db.session() as s:
        return s.execute(stmt).first() is not None


def verify_audit(lab: LabService) -> AuditChain:
    """Recompute the audit log's hash chain; `ok` is false if any row was edited, removed or reordered."""
    with engine_errors():
        return AuditChain.from_report(verify_chain(lab.session.db))


def tokens(lab: LabService) -> list[TokenView]:
    """Every API token of the lab (revoked ones too), oldest first; never a secret."""
    with engine_errors():
        return [TokenView.from_info(t) for t in list_tokens(lab.session.db, lab.lab_name_or_folder())]


def pools(lab: LabService) -> list[ResourcePool]:
    """Resource pools declared at main, by name."""
    state = lab.state()
    return [state.pools[n] for n in sorted(state.pools)]


def templates(lab: LabService) -> list[DeploymentTemplate]:
    """Deployment templates declared at main, by name."""
    state = lab.state()
    return [state.templates[n] for n in sorted(state.templates)]


def resources(lab: LabService) -> list[EffectiveResource]:
    """Declared resources at main with every inherited value resolved (template, pool chain, overrides)."""
    state = lab.state()
    return [state.effective[n] for n in sorted(state.effective)]


def resource(lab: LabService, name: str) -> EffectiveResource:
    """One declared resource at main, resolved."""
    state = lab.state()
    found = state.effective.get(name)
    if found is None:
        raise NotFound(f"no resource {name!r} is declared at main; list them with `homeport validate` "
                       "or the resources query")
    return found


def capacity(lab: LabService, *, provider: str | None = None) -> CapacityReport:
    """Per node of every enabled provider (or one): capacity, allocated, the allocation ratios placement uses
    there, usage and what is free to place. Observes the providers (read only)."""
    state = lab.state()
    if provider is not None and provider not in state.lab.spec.providers:
        raise NotFound(f"no provider {provider!r} in homeport.yaml (providers: "
                       f"{', '.join(sorted(state.lab.spec.providers))})")
    with engine_errors():
        observation = lab.observe(state, {provider} if provider else None)
    return capacity_report(state, observation.inventories, observation.unavailable, provider)
