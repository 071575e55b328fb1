"""Gate: which changes may be applied now (approval mode, policy, windows, risk, prune guards). Pure."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reconciler.models.desired import DesiredState
from reconciler.models.lab import ReconcilePolicy
from reconciler.models.plan import BlockKind, Change, Mode, Op, Plan
from reconciler.plan.windows import applying_allowed


@dataclass(frozen=True)
class PruneFacts:
    """What prune guards need: owned resource count and stateful ones recorded at last apply."""

    owned_total: int
    stateful: frozenset[str] = frozenset()
    allow_delete_stateful: frozenset[str] = frozenset()
    prune_override: Mapping[str, bool] | None = None  # sync.prune of each resource when it was last applied


def _self_heal(state: DesiredState, change: Change, policy: ReconcilePolicy) -> bool:
    eff = state.effective.get(change.resource)
    if eff is not None and eff.sync.self_heal is not None:
        return eff.sync.self_heal
    return policy.self_heal


REVERT_ANNOTATION = "homeport.dev/revert-drift"


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def drift_fingerprint(live: list[tuple[str, Any]]) -> str:
    """A short stable id of a drift: its field paths and live values (1.0 and 1 alike)."""
    payload = json.dumps(sorted((path, _plain(value)) for path, value in live), sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _revert_approved(state: DesiredState, change: Change) -> bool:
    """A merged `drift propose --revert` annotated this resource with exactly this drift's fingerprint."""
    declared = state.declared(change.resource)
    wanted = declared.metadata.annotations.get(REVERT_ANNOTATION) if declared is not None else None
    return wanted is not None and wanted == drift_fingerprint([(f.path, f.old) for f in change.fields])


def _auto_apply(state: DesiredState, change: Change, policy: ReconcilePolicy) -> bool:
    eff = state.effective.get(change.resource)
    if eff is not None and eff.sync.auto_apply is not None:
        return eff.sync.auto_apply
    return policy.auto_apply


def gate(plan: Plan, state: DesiredState, *, mode: Mode, now: datetime, prune: PruneFacts,
         backoff: Mapping[str, datetime] | None = None, approved_rollback: str | None = None) -> Plan:
    """Set `blocked` on every change that must not be applied now, saying why.

    `approved_rollback`: the id of the merged rollback proposal main is at; a person approved its plan,
    so its changes are not held back for risk (every other guard stays).

    `backoff`: resources whose last apply failed transiently and when each may be retried; until then
    the daemon leaves them waiting (a person's `homeport apply` retries at once).
    """
    policy = state.lab.spec.reconcile
    deletes = [c for c in plan.changes if c.op is Op.delete]
    prune_block = None
    if deletes:
        if not state.resources:
            prune_block = "refusing to prune: the desired state declares no resources at all"
        elif prune.owned_total and len(deletes) / prune.owned_total > policy.max_prune_fraction:
            prune_block = (
                f"refusing to prune {len(deletes)} of {prune.owned_total} owned resources: more than "
                f"reconcile.max_prune_fraction ({policy.max_prune_fraction:.0%})"
            )
    for change in plan.changes:
        if change.op is Op.noop or change.blocked:
            continue
        if change.op is Op.delete:
            if prune_block:
                change.hold(BlockKind.prune, prune_block)
                continue
            override = (prune.prune_override or {}).get(change.resource)
            if override is False:
                change.hold(BlockKind.prune,
                            "prune is off for this resource (sync.prune: false when it was last applied)")
                continue
            if override is None and not policy.prune:
                change.hold(BlockKind.prune, "prune is off (reconcile.prune: false in homeport.yaml)")
                continue
            if change.resource in prune.stateful and change.resource not in prune.allow_delete_stateful:
                change.hold(BlockKind.prune,
                            "stateful resource: deleting needs sync.allow_delete_stateful: true on it "
                            "before it is removed from the desired state")
                continue
        if mode is Mode.manual:
            continue
        if policy.paused:
            change.hold(BlockKind.policy, "reconcile is paused (reconcile.paused: true)")
            continue
        allowed, why = applying_allowed(policy.windows, now)
        if not allowed:
            change.hold(BlockKind.window, why)
            continue
        if change.drift and not (_self_heal(state, change, policy) or _revert_approved(state, change)):
            change.hold(BlockKind.policy, "drift: self_heal is off; revert or adopt it with "
                                          "`homeport drift propose`, or `homeport apply`")
            continue
        if not _auto_apply(state, change, policy):
            change.hold(BlockKind.policy, "auto_apply is off: a person applies this with `homeport apply`")
            continue
        if change.risk > policy.max_auto_risk and not approved_rollback:
            change.hold(BlockKind.policy,
                        f"risk {change.risk.value} is above reconcile.max_auto_risk ({policy.max_auto_risk.value})")
            continue
        retry_at = (backoff or {}).get(change.resource)
        if retry_at is not None and now < retry_at:
            change.hold(BlockKind.backoff, f"waiting: transient provider error, backing off until "
                                           f"{retry_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC")
    wait_for_dependencies(plan, state)
    return plan


def _dependencies(state: DesiredState, name: str) -> list[str]:
    return state.dependencies_of(name)


def wait_for_dependencies(plan: Plan, state: DesiredState) -> None:
    """Hold back a change whose dependency is not live and will not be made live by this run.

    A dependency is ready when it is live and unchanged (noop), or has an unblocked change in this plan
    (apply runs dependencies first, see `dependency_order`). Holds propagate along chains.
    """
    by_name = {c.resource: c for c in plan.changes}
    changed = True
    while changed:
        changed = False
        for change in plan.changes:
            if change.blocked or change.op in (Op.noop, Op.delete):
                continue
            for dep in _dependencies(state, change.resource):
                other = by_name.get(dep)
                if dep not in state.effective:
                    why = f"waiting on a dependency: {dep} is not declared (spec.depends_on)"
                elif other is None:
                    why = f"waiting on a dependency: {dep} is not planned (its provider was not observed?)"
                elif other.blocked:
                    why = f"waiting on a dependency: {dep} is held back ({other.blocked})"
                else:
                    continue
                change.hold(BlockKind.dependency, why)
                changed = True
                break


def dependency_order(changes: list[Change], state: DesiredState) -> list[Change]:
    """Changes with each resource's dependencies first (plan order otherwise; cycles keep plan order)."""
    names = {c.resource for c in changes}
    out: list[Change] = []
    placed: set[str] = set()
    visiting: set[str] = set()
    by_name = {c.resource: c for c in changes}

    def visit(change: Change) -> None:
        if change.resource in placed or change.resource in visiting:
            return
        visiting.add(change.resource)
        for dep in _dependencies(state, change.resource):
            if dep in names:
                visit(by_name[dep])
        visiting.discard(change.resource)
        placed.add(change.resource)
        out.append(change)

    for change in changes:
        visit(change)
    return out
