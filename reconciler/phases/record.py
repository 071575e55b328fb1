"""Record: instances (expected, actual, deviation, status, revisions), deviations, skips, the desired index."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from reconciler.models.desired import DesiredState
from reconciler.models.effective import EffectiveResource
from reconciler.models.inventory import Inventory
from reconciler.models.plan import ApplyStatus, Change, ErrorKind, Op, Plan
from reconciler.phases.apply import ApplyOutcome
from reconciler.phases.context import LabSession
from reconciler.store.audit import append_audit
from reconciler.store.deviations import open_deviations, resolve_all, sync_deviations
from reconciler.store.instances import RETRY_KEY, InstanceSnapshot, instance_rows, new_instance, touch_checked
from reconciler.store.tables import (
    DeploymentInstanceRow,
    DeploymentTemplateRow,
    ResourceDimensionRow,
    ResourcePoolRow,
    StateDeviationRow,
)


def _observed_fields(inventories: dict[str, Inventory], lab: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for inv in inventories.values():
        for name, obs in inv.owned(lab).items():
            out[name] = obs.fields
    return out


def _fields_json(change: Change) -> list[dict[str, Any]]:
    return [f.model_dump(mode="json") for f in change.fields]


def _converged(status: str, deviation_detected: bool, name: str, devs: dict[str, list[Any]],
               params: dict[str, Any] | None, eff: EffectiveResource | None) -> bool:
    """Whether a no-op's instance row already says everything this run would write (nothing to update)."""
    return (status == "running" and not deviation_detected and name not in devs
            and not _params_differ(params or {}, eff))


def _rows_needed(
    plan: Plan, state: DesiredState, instances: dict[str, InstanceSnapshot] | None, devs: dict[str, list[Any]]
) -> set[str] | None:
    """Names whose instance row this run may change; a converged no-op needs none (None: load all)."""
    if instances is None:
        return None
    needed: set[str] = set()
    for change in plan.changes:
        if change.op is Op.noop and change.blocked:
            continue
        if change.op is Op.noop:
            snap = instances.get(change.resource)
            if snap is not None and _converged(snap.status, snap.deviation_detected, change.resource, devs,
                                               snap.parameters, state.effective.get(change.resource)):
                continue
        needed.add(change.resource)
        if change.previous_name:
            needed.add(change.previous_name)
    return needed


def policy_parameters(previous: dict[str, Any], eff: EffectiveResource, change: Change,
                      outcome: ApplyOutcome | None) -> dict[str, Any]:
    """The policy an instance row records (stateful, prune, ...); a pending transient-error backoff is kept
    while the change has not been applied. Pure."""
    params: dict[str, Any] = {
        "stateful": eff.stateful,
        "allow_delete_stateful": eff.sync.allow_delete_stateful,
        "source_file": eff.source_file,
        "prune": eff.sync.prune,
    }
    if previous.get(RETRY_KEY) and change.op is not Op.noop and (
            outcome is None or outcome.status is not ApplyStatus.applied):
        params[RETRY_KEY] = previous[RETRY_KEY]
    return params


def record_results(
    session: LabSession,
    state: DesiredState,
    plan: Plan,
    outcomes: list[ApplyOutcome],
    inventories: dict[str, Inventory],
    run_id: str,
    now: datetime,
    instances: dict[str, InstanceSnapshot] | None = None,
) -> dict[str, int]:
    """Update instance rows and deviations from the plan and what applying did; return counts."""
    lab = state.lab_name
    by_resource = {o.change.resource: o for o in outcomes}
    observed = _observed_fields(inventories, lab)
    counts = {"applied": 0, "failed": 0, "blocked": 0, "noop": 0, "drifted": 0, "deleted": 0}
    with session.db.session() as s:
        devs_by_resource: dict[str, list[Any]] = {}
        for d in open_deviations(s, lab):
            devs_by_resource.setdefault(d.resource, []).append(d)
        needed = _rows_needed(plan, state, instances, devs_by_resource)
        rows = instance_rows(s, lab, needed)
        for change in plan.changes:
            name = change.resource
            outcome = by_resource.get(name)
            row = rows.get(name)
            eff = state.effective.get(name)
            if change.op is Op.noop and change.blocked:
                continue  # its provider was not observed: nothing is known, nothing recorded
            if change.op is Op.noop:
                counts["noop"] += 1
                if needed is not None and name not in needed:
                    continue
                if row is not None and _converged(row.status, row.deviation_detected, name, devs_by_resource,
                                                  row.parameters, eff):
                    continue
            if row is None:
                if change.op is Op.delete and outcome is None:
                    continue
                row = rows[name] = new_instance(lab, name, change.provider, change.provider_type)
                s.add(row)
            if eff is not None:
                row.pool_path = eff.pool
                row.template = eff.template
                row.parameters = policy_parameters(row.parameters or {}, eff, change, outcome)
            row.expected_state = change.desired or row.expected_state
            devs = devs_by_resource.get(name, [])
            if outcome is not None:
                row.last_attempted_revision = state.revision
                _record_outcome(s, session.actor_kind == "human", row, change, outcome, state, now, counts, devs)
            elif change.op is Op.noop:
                _record_converged(s, row, change, observed.get(name, row.actual_state), state, now)
            else:  # a change that was not applied (blocked, or plan-only run)
                _record_held_back(s, session, row, change, observed.get(name, {}), state, eff, now, counts, devs,
                                  run_id)
        touch_checked(s, lab, now)
    return counts


def _record_converged(s: Session, row: DeploymentInstanceRow, change: Change, actual: dict[str, Any],
                      state: DesiredState, now: datetime) -> None:
    """A resource that matches Git: running, no deviation, its open deviations resolved."""
    row.actual_state = actual
    row.node = change.node or row.node
    row.provider_id = change.provider_id or row.provider_id
    row.status = "running"
    row.deviation_detected = False
    row.deviation_details = []
    row.error_message = None
    if not row.last_applied_state:
        row.last_applied_state = change.desired
        row.last_applied_revision = state.revision
    resolve_all(s, state.lab_name, row.name, now, "converged", "reconciler")


def _record_held_back(s: Session, session: LabSession, row: DeploymentInstanceRow, change: Change,
                      actual: dict[str, Any], state: DesiredState, eff: EffectiveResource | None, now: datetime,
                      counts: dict[str, int], devs: list[Any], run_id: str) -> None:
    """A change that was not applied: drift is recorded field by field, the skip once (with its reason)."""
    lab = state.lab_name
    counts["blocked"] += 1
    if change.drift:
        counts["drifted"] += 1
        fields = _fields_json(change) or [{"path": "(resource)", "old": None, "new": "present"}]
        row.deviation_detected = True
        row.deviation_details = fields
        row.actual_state = actual
        row.status = "drifted"
        heal = (bool(eff.sync.self_heal) if eff is not None and eff.sync.self_heal is not None
                else state.lab.spec.reconcile.self_heal)
        sync_deviations(s, lab=lab, resource=row.name, instance_id=row.id, fields=fields, when=now,
                        severity=change.risk.value, auto_correctable=heal, existing=devs)
    elif row.status in ("pending", "blocked") or change.op is Op.create:
        row.status = "pending"
    reason = f"blocked: {change.blocked}" if change.blocked else None
    if reason and row.error_message != reason:
        append_audit(s, lab=lab, entity_type="resource", entity_id=row.name, action=f"{change.op.value}-skipped",
                     actor=session.actor, actor_kind=session.actor_kind, tool="reconcile", run_id=run_id,
                     outcome="skipped", arguments={"op": change.op.value, "revision": state.revision},
                     result={"reason": change.blocked})
    row.error_message = reason


def _params_differ(params: dict[str, Any], eff: EffectiveResource | None) -> bool:
    """Whether the policy recorded on the instance differs from the definition's (e.g. a new allowance)."""
    if eff is None:
        return False
    return bool(
        params.get("stateful") != eff.stateful
        or params.get("allow_delete_stateful") != eff.sync.allow_delete_stateful
        or params.get("source_file") != eff.source_file
        or params.get("prune") != eff.sync.prune
    )


def _record_outcome(
    s: Session,
    human: bool,
    row: DeploymentInstanceRow,
    change: Change,
    outcome: ApplyOutcome,
    state: DesiredState,
    now: datetime,
    counts: dict[str, int],
    devs: list[Any],
) -> None:
    lab = state.lab_name
    if outcome.status is ApplyStatus.applied:
        counts["applied"] += 1
        if change.op is Op.delete:
            counts["deleted"] += 1
            row.status = "deleted"
            row.destroyed_at = now
            resolve_all(s, lab, row.name, now, "deleted", "reconciler")
            return
        result = outcome.result
        row.status = "running"
        row.node = (result.node if result and result.node else None) or change.node or row.node
        row.provider_id = (result.provider_id if result else None) or change.provider_id or row.provider_id
        row.last_applied_state = change.desired
        row.actual_state = change.desired
        row.last_applied_revision = state.revision
        row.deviation_detected = False
        row.deviation_details = []
        row.error_message = None
        row.destroyed_at = None
        if result and result.hosts:
            row.configuration = {"hosts": [h.model_dump() for h in result.hosts], "at": now.isoformat()}
        if row.deployed_at is None:
            row.deployed_at = now
        how = "applied" if human else "self-healed"
        if change.drift:
            known = {d.field_path for d in devs}
            for f in change.fields:
                if f.path in known:
                    continue
                s.add(
                    StateDeviationRow(
                        lab=lab,
                        resource=row.name,
                        instance_id=row.id,
                        field_path=f.path,
                        expected_value=f.new,
                        actual_value=f.old,
                        severity=f.risk.value,
                        auto_correctable=True,
                        corrective_action="self-heal",
                        detected_at=now,
                        last_seen_at=now,
                        resolved_at=now,
                        resolution=how,
                        resolved_by="reconciler",
                    )
                )
        resolve_all(s, lab, row.name, now, how, "reconciler")
        if change.op is Op.rename and change.previous_name:
            old = s.execute(
                select(DeploymentInstanceRow).where(
                    DeploymentInstanceRow.lab == lab, DeploymentInstanceRow.name == change.previous_name
                )
            ).scalar_one_or_none()
            if old is not None:
                s.delete(old)
        return
    counts["failed"] += 1
    row.status = "failed"
    row.error_message = outcome.message[:2000]
    params = dict(row.parameters or {})
    if outcome.error_kind is ErrorKind.transient:
        failures = int((params.get(RETRY_KEY) or {}).get("failures", 0)) + 1
        delay = retry_backoff_seconds(failures, row.name)
        params[RETRY_KEY] = {"failures": failures, "next_at": (now + timedelta(seconds=delay)).isoformat()}
    else:
        params.pop(RETRY_KEY, None)  # permanent: no automatic retry schedule; the next run tries again
    row.parameters = params


def retry_backoff_seconds(failures: int, resource: str) -> float:
    """Across runs: 60 s doubling per consecutive transient failure, at most an hour, with jitter."""
    base = min(3600.0, 60.0 * 2 ** (failures - 1))
    return float(base * (0.75 + random.Random(f"{resource}:{failures}").random() / 4))


def index_desired_state(session: LabSession, state: DesiredState) -> None:
    """Sync the queryable index (pools, templates, dimensions) when the revision changed."""
    lab = state.lab_name
    with session.db.session() as s:
        current = s.execute(
            select(ResourcePoolRow.revision).where(ResourcePoolRow.lab == lab).limit(1)
        ).scalar_one_or_none()
        if current == state.revision:
            return
        for table in (ResourcePoolRow, DeploymentTemplateRow, ResourceDimensionRow):
            s.execute(delete(table).where(table.lab == lab))
        ids: dict[str, str] = {}
        from reconciler.store.tables import new_id

        for name in state.pools:
            ids[name] = new_id()
        for name, pool in state.pools.items():
            parent = state.pool_parents.get(name)
            s.add(
                ResourcePoolRow(
                    id=ids[name],
                    lab=lab,
                    name=name,
                    full_path=pool.spec.path,
                    parent_id=ids.get(parent) if parent else None,
                    pool_type=pool.spec.pool_type,
                    provider=pool.spec.provider,
                    description=pool.spec.description,
                    properties=pool.spec.properties,
                    capacity=pool.spec.capacity.model_dump(exclude_none=True),
                    revision=state.revision,
                )
            )
            for dim, value in pool.spec.dimensions.items():
                s.add(_dimension(lab, pool.spec.path, "pool", dim, value))
        for name, tpl in state.templates.items():
            playbooks = tpl.spec.configuration.playbooks
            s.add(
                DeploymentTemplateRow(
                    lab=lab,
                    name=name,
                    template_type=tpl.spec.template_type,
                    terraform_module_path=tpl.spec.infrastructure.module,
                    ansible_playbook_path=playbooks[0].path if playbooks else None,
                    default_parameters=tpl.spec.infrastructure.variables,
                    required_parameters=tpl.spec.validation.required_dimensions,
                    description=tpl.metadata.description,
                    version=tpl.metadata.version or "1.0.0",
                    revision=state.revision,
                )
            )
            for dim, value in tpl.spec.dimensions.items():
                s.add(_dimension(lab, name, "template", dim, value))
        for name, eff in state.effective.items():
            for dim, value in eff.dimensions.items():
                s.add(_dimension(lab, name, "instance", dim, value))


def _dimension(lab: str, resource_id: str, resource_type: str, name: str, value: Any) -> ResourceDimensionRow:
    kind = (
        "boolean"
        if isinstance(value, bool)
        else "number"
        if isinstance(value, int | float)
        else "json"
        if isinstance(value, dict | list)
        else "string"
    )
    text = value if isinstance(value, str) else __import__("json").dumps(value)
    return ResourceDimensionRow(
        lab=lab,
        resource_id=resource_id,
        resource_type=resource_type,
        dimension_name=name,
        dimension_value=text,
        dimension_type=kind,
    )

