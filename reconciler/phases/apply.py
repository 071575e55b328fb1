"""Apply: one change at a time, an intent row before each provider call, retries for transient errors.

Transient errors are retried after every other change had its turn (per resource, not blocking
the others); the resource's backoff across runs is recorded by `record` and honoured by `gate`.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from reconciler.models.desired import DesiredState
from reconciler.models.effective import EffectiveResource
from reconciler.models.plan import ApplyStatus, BlockKind, BlockReason, Change, ErrorKind, Op, Plan
from reconciler.models.progress import Stage
from reconciler.phases.context import LabSession
from reconciler.phases.crashpoints import crash_point
from reconciler.phases.gate import dependency_order
from reconciler.phases.render import render_one
from reconciler.plan.diff import diff_fields
from reconciler.providers.base import ApplyResult, Provider, RenderedArtifacts
from reconciler.providers.errors import PermanentProviderError, TransientProviderError
from reconciler.render.errors import ChartError, RenderError
from reconciler.store.instances import mark_applied, mark_deleted
from reconciler.store.intents import begin_intent, finish_intent, idempotency_key, pending_intents

APPLY_OPS = (Op.create, Op.update, Op.replace, Op.rename)


@dataclass(frozen=True)
class ApplyOutcome:
    """What happened to one change (the executor returns it; it never changes the plan it was given)."""

    change: Change
    status: ApplyStatus
    message: str
    result: ApplyResult | None = None
    attempts: int = 0
    error_kind: ErrorKind | None = None
    block: BlockReason | None = None  # why a skipped change was held back during the run


def backoff_delay(attempt: int, base: float, rng: random.Random) -> float:
    """Exponential backoff with full jitter, capped at five minutes."""
    return float(min(300.0, base * (2 ** (attempt - 1))) * (0.5 + rng.random() / 2))


@dataclass
class _Prepared:
    """A change ready for its provider call: its intent row is written."""

    change: Change
    provider: Provider
    resource: EffectiveResource | None
    artifacts: RenderedArtifacts | None
    intent: str
    audit_base: dict[str, Any]
    rng: random.Random
    attempt: int = 0
    delay: float = 0.5


def _prepare(session: LabSession, state: DesiredState, change: Change, run_id: str,
             rng: random.Random | None) -> _Prepared | ApplyOutcome:
    """Render, ask the provider before creating, and write the intent row."""
    lab = state.lab_name
    config = state.lab.spec.providers.get(change.provider)
    if config is None:
        return ApplyOutcome(change, ApplyStatus.failed, f"provider {change.provider} is no longer declared",
                            error_kind=ErrorKind.permanent)
    provider = session.provider(lab, change.provider, config)
    resource = state.effective.get(change.resource)
    artifacts = None
    if resource is not None:
        placed = resource.model_copy(update={"node": change.node or resource.node})
        try:
            artifacts = render_one(session, placed, write=True)
        except (RenderError, ChartError) as exc:
            return ApplyOutcome(change, ApplyStatus.failed, str(exc), error_kind=ErrorKind.permanent)
    if change.op is Op.create:
        try:
            existing = provider.find(change.resource)
        except TransientProviderError as exc:
            return ApplyOutcome(change, ApplyStatus.failed, f"cannot check whether it exists yet: {exc}",
                                error_kind=ErrorKind.transient)
        except Exception as exc:  # unmapped: treat as permanent so the other changes go on
            return ApplyOutcome(change, ApplyStatus.failed,
                                f"cannot check whether it exists: {type(exc).__name__}: {exc}",
                                error_kind=ErrorKind.permanent)
        if existing is not None:
            change = change.model_copy(update={
                "op": Op.update, "provider_id": existing.id, "node": existing.node or change.node,
                "reason": change.reason + " (found existing; converging it)"})
    key = idempotency_key(lab, state.revision, change.resource, change.op.value, change.desired)
    intent = begin_intent(session.db, lab=lab, run_id=run_id, resource=change.resource, provider=change.provider,
                          op=change.op.value, key=key,
                          change={**change.model_dump(mode="json"), "revision": state.revision})
    crash_point("intent-written")
    audit_base = {
        "lab": lab, "entity_type": "resource", "entity_id": change.resource, "actor": session.actor,
        "actor_kind": session.actor_kind, "tool": "reconcile", "run_id": run_id,
        "arguments": {"op": change.op.value, "revision": state.revision,
                      "fields": [f.model_dump(mode="json") for f in change.fields][:50]},
    }
    return _Prepared(change, provider, resource, artifacts, intent, audit_base, rng or random.Random(change.resource))


def _fail(session: LabSession, p: _Prepared, started: float, message: str, outcome: str,
          kind: ErrorKind) -> ApplyOutcome:
    finish_intent(session.db, p.intent, status="failed", error=message, audit={
        **p.audit_base, "action": f"{p.change.op.value}-failed", "outcome": outcome,
        "result": {"error": message, "attempts": p.attempt, "kind": kind},
        "duration_ms": (time.perf_counter() - started) * 1000})
    return ApplyOutcome(p.change, ApplyStatus.failed, message, attempts=p.attempt, error_kind=kind)


def _attempt(session: LabSession, p: _Prepared, max_attempts: int) -> ApplyOutcome | None:
    """One provider call; None means a transient error worth another attempt later in this run."""
    p.attempt += 1
    started = time.perf_counter()
    try:
        result = p.provider.apply(p.change, p.resource, p.artifacts)
    except TransientProviderError as exc:
        if p.attempt < max_attempts:
            p.delay = max(exc.delay, 0.5)
            return None
        return _fail(session, p, started, f"transient error after {p.attempt} attempt(s): {exc}",
                     "transient-error", ErrorKind.transient)
    except PermanentProviderError as exc:
        return _fail(session, p, started, str(exc), "error", ErrorKind.permanent)
    except Exception as exc:  # an unmapped vendor error: recorded as permanent so others go on
        return _fail(session, p, started, f"{type(exc).__name__}: {exc}", "error", ErrorKind.permanent)
    crash_point("provider-applied")
    lab = p.audit_base["lab"]

    def applied(s: Session) -> None:
        if p.change.op is Op.delete:
            mark_deleted(s, lab, p.change.resource, session.clock())
        else:
            mark_applied(s, lab, p.change.resource, p.change.desired, p.audit_base["arguments"]["revision"])

    finish_intent(session.db, p.intent, status="done", result=result.model_dump(mode="json"), also=applied, audit={
        **p.audit_base, "action": p.change.op.value, "outcome": "ok",
        "result": {"message": result.message, "provider_id": result.provider_id, "node": result.node,
                   "hosts": [h.model_dump() for h in result.hosts]},
        "duration_ms": (time.perf_counter() - started) * 1000})
    crash_point("intent-finished")
    return ApplyOutcome(p.change, ApplyStatus.applied, result.message, result=result, attempts=p.attempt)


def execute_changes(session: LabSession, state: DesiredState, changes: list[Change], run_id: str, *,
                    max_attempts: int = 3, rng: random.Random | None = None) -> list[ApplyOutcome]:
    """Apply changes in order; transient failures are retried after the others, with jittered backoff.

    A resource that keeps failing transiently never holds up the rest: every change gets its first
    attempt before any retry, and each retry round waits (through `session.sleep`) for the longest
    backoff among the resources in it.
    """
    outcomes: dict[int, ApplyOutcome] = {}
    retry: list[tuple[int, _Prepared]] = []
    not_ready: dict[str, str] = {}  # resources of this batch that failed or still wait for a retry
    total = len(changes)
    if not total:
        return []
    for index, change in enumerate(changes):
        session.report(Stage.apply, len(outcomes), total, change.resource)
        waiting_on = [d for d in state.dependencies_of(change.resource) if d in not_ready]
        if waiting_on:
            why = f"waiting on a dependency: {waiting_on[0]} {not_ready[waiting_on[0]]} in this run"
            outcomes[index] = ApplyOutcome(change, ApplyStatus.skipped, why,
                                           block=BlockReason(kind=BlockKind.dependency, message=why))
            not_ready[change.resource] = "is waiting on a dependency"
            continue
        prepared = _prepare(session, state, change, run_id, rng)
        if isinstance(prepared, ApplyOutcome):
            outcomes[index] = prepared
            not_ready[change.resource] = "failed"
            continue
        done = _attempt(session, prepared, max_attempts)
        if done is None:
            retry.append((index, prepared))
            not_ready[change.resource] = "hit a transient error"
        else:
            outcomes[index] = done
            if done.status is not ApplyStatus.applied:
                not_ready[change.resource] = "failed"
    while retry:
        session.sleep(max(backoff_delay(p.attempt, p.delay, p.rng) for _, p in retry))
        still = []
        for index, p in retry:
            done = _attempt(session, p, max_attempts)
            if done is None:
                still.append((index, p))
            else:
                outcomes[index] = done
            session.report(Stage.apply, len(outcomes), total, p.change.resource)
        retry = still
    session.report(Stage.apply, total, total)
    return [outcomes[i] for i in sorted(outcomes)]


def apply_changes(session: LabSession, state: DesiredState, plan: Plan, run_id: str,
                  ops: tuple[Op, ...] = APPLY_OPS) -> list[ApplyOutcome]:
    """Apply every unblocked change whose op is in ops; one failure never stops the others."""
    wanted = [c for c in plan.changes if c.op in ops and not c.blocked]
    return execute_changes(session, state, dependency_order(wanted, state), run_id)


def _intent_done(provider: Provider, op: str, change: dict[str, Any], resource: str) -> bool:
    """Whether an unfinished intent's effect is live: asked of the provider, never assumed."""
    found = provider.find(resource)
    if op == "delete":
        return found is None
    if found is None:
        return False
    desired = change.get("desired")
    if not isinstance(desired, dict) or not desired:
        return True  # an intent from before desired fields were kept: existence is all we can check
    return not diff_fields(desired, found.fields, None, provider.diff_rules)


def resume_intents(session: LabSession, state: DesiredState) -> list[str]:
    """Verify intents a crashed run left pending by asking the provider; the plan converges the rest.

    An intent whose effect is live is closed as `verified` with an audit row counting as the apply
    (outcome ok); one whose effect is not live is closed as `abandoned` (outcome redo) and the plan of
    this run applies it again, so every change shows in the audit log exactly once with outcome ok.
    """
    notes = []
    lab = state.lab_name
    for intent in pending_intents(session.db, lab):
        config = state.lab.spec.providers.get(intent.provider)
        done = False
        if config is not None and config.enabled:
            try:
                done = _intent_done(session.provider(lab, intent.provider, config), intent.op, intent.change,
                                    intent.resource)
            except Exception as exc:  # cannot verify now: leave it pending for the next run
                notes.append(f"{intent.resource}: cannot verify unfinished {intent.op} yet: {exc}")
                continue
        status = "verified" if done else "abandoned"
        finish_intent(session.db, intent.id, status=status, audit={
            "lab": lab, "entity_type": "resource", "entity_id": intent.resource,
            "action": f"{intent.op}-resumed", "actor": session.actor, "actor_kind": "system",
            "tool": "reconcile", "run_id": intent.run_id, "outcome": "ok" if done else "redo",
            "arguments": {"op": intent.op, "intent": intent.id},
            "result": {"message": f"unfinished {intent.op} found "
                                  f"{'complete' if done else 'not done; the plan redoes it'}"}})
        if done and intent.op == "delete":
            mark_deleted(session.db, lab, intent.resource, session.clock())
        elif done and isinstance(intent.change.get("desired"), dict):
            mark_applied(session.db, lab, intent.resource, intent.change["desired"], intent.change.get("revision"))
        notes.append(f"{intent.resource}: unfinished {intent.op} {status}")
    return notes
