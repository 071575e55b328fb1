"""Apply: one change at a time, an intent row before each provider call, retries for transient errors."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from reconciler.models.desired import DesiredState
from reconciler.models.plan import Change, Op, Plan
from reconciler.phases.context import LabSession
from reconciler.phases.render import render_one
from reconciler.providers.base import ApplyResult
from reconciler.providers.errors import PermanentProviderError, TransientProviderError
from reconciler.render.errors import ChartError, RenderError
from reconciler.store.intents import begin_intent, finish_intent, idempotency_key, pending_intents

APPLY_OPS = (Op.create, Op.update, Op.replace, Op.rename)


@dataclass
class ApplyOutcome:
    """What happened to one change."""

    change: Change
    status: str  # applied | failed | skipped
    message: str
    result: ApplyResult | None = None
    attempts: int = 0
    error_kind: str | None = None  # transient | permanent
    extra: dict[str, Any] = field(default_factory=dict)


def backoff_delay(attempt: int, base: float, rng: random.Random) -> float:
    """Exponential backoff with full jitter, capped at five minutes."""
    return float(min(300.0, base * (2 ** (attempt - 1))) * (0.5 + rng.random() / 2))


def execute_change(
    session: LabSession,
    state: DesiredState,
    change: Change,
    run_id: str,
    *,
    max_attempts: int = 3,
    rng: random.Random | None = None,
) -> ApplyOutcome:
    """Apply one change through its provider, with an intent row and audit row, retrying transient errors."""
    rng = rng or random.Random(change.resource)
    lab = state.lab_name
    config = state.lab.spec.providers.get(change.provider)
    if config is None:
        return ApplyOutcome(
            change, "failed", f"provider {change.provider} is no longer declared", error_kind="permanent"
        )
    provider = session.provider(lab, change.provider, config)
    resource = state.effective.get(change.resource)
    artifacts = None
    if resource is not None:
        placed = resource.model_copy(update={"node": change.node or resource.node})
        try:
            artifacts = render_one(session, placed, write=True)
        except (RenderError, ChartError) as exc:
            return ApplyOutcome(change, "failed", str(exc), error_kind="permanent")
    if change.op is Op.create:
        existing = provider.find(change.resource)
        if existing is not None:
            change = change.model_copy(
                update={
                    "op": Op.update,
                    "provider_id": existing.id,
                    "node": existing.node or change.node,
                    "reason": change.reason + " (found existing; converging it)",
                }
            )
    key = idempotency_key(lab, state.revision, change.resource, change.op.value, change.desired)
    intent = begin_intent(
        session.db,
        lab=lab,
        run_id=run_id,
        resource=change.resource,
        provider=change.provider,
        op=change.op.value,
        key=key,
        change=change.model_dump(mode="json", exclude={"desired"}),
    )
    audit_base = {
        "lab": lab,
        "entity_type": "resource",
        "entity_id": change.resource,
        "actor": session.actor,
        "actor_kind": session.actor_kind,
        "tool": "reconcile",
        "run_id": run_id,
        "arguments": {
            "op": change.op.value,
            "revision": state.revision,
            "fields": [f.model_dump(mode="json") for f in change.fields][:50],
        },
    }
    attempt = 0
    while True:
        attempt += 1
        started = time.perf_counter()
        try:
            result = provider.apply(change, resource, artifacts)
        except TransientProviderError as exc:
            if attempt < max_attempts:
                session.sleep(backoff_delay(attempt, max(exc.delay, 0.5), rng))
                continue
            finish_intent(
                session.db,
                intent,
                status="failed",
                error=str(exc),
                audit={
                    **audit_base,
                    "action": f"{change.op.value}-failed",
                    "outcome": "transient-error",
                    "result": {"error": str(exc), "attempts": attempt},
                    "duration_ms": (time.perf_counter() - started) * 1000,
                },
            )
            return ApplyOutcome(
                change,
                "failed",
                f"transient error after {attempt} attempt(s): {exc}",
                attempts=attempt,
                error_kind="transient",
            )
        except PermanentProviderError as exc:
            finish_intent(
                session.db,
                intent,
                status="failed",
                error=str(exc),
                audit={
                    **audit_base,
                    "action": f"{change.op.value}-failed",
                    "outcome": "error",
                    "result": {"error": str(exc)},
                    "duration_ms": (time.perf_counter() - started) * 1000,
                },
            )
            return ApplyOutcome(change, "failed", str(exc), attempts=attempt, error_kind="permanent")
        except Exception as exc:  # an unmapped vendor error: recorded as permanent so others go on
            message = f"{type(exc).__name__}: {exc}"
            finish_intent(
                session.db,
                intent,
                status="failed",
                error=message,
                audit={
                    **audit_base,
                    "action": f"{change.op.value}-failed",
                    "outcome": "error",
                    "result": {"error": message},
                    "duration_ms": (time.perf_counter() - started) * 1000,
                },
            )
            return ApplyOutcome(change, "failed", message, attempts=attempt, error_kind="permanent")
        finish_intent(
            session.db,
            intent,
            status="done",
            result=result.model_dump(mode="json"),
            audit={
                **audit_base,
                "action": change.op.value,
                "outcome": "ok",
                "result": {
                    "message": result.message,
                    "provider_id": result.provider_id,
                    "node": result.node,
                    "hosts": [h.model_dump() for h in result.hosts],
                },
                "duration_ms": (time.perf_counter() - started) * 1000,
            },
        )
        return ApplyOutcome(change, "applied", result.message, result=result, attempts=attempt)


def apply_changes(
    session: LabSession, state: DesiredState, plan: Plan, run_id: str, ops: tuple[Op, ...] = APPLY_OPS
) -> list[ApplyOutcome]:
    """Apply every unblocked change whose op is in ops; one failure never stops the others."""
    outcomes = []
    for change in plan.changes:
        if change.op not in ops or change.blocked:
            continue
        outcomes.append(execute_change(session, state, change, run_id))
    return outcomes


def resume_intents(session: LabSession, state: DesiredState) -> list[str]:
    """Verify intents a crashed run left pending by asking the provider; the plan converges the rest."""
    notes = []
    lab = state.lab_name
    for intent in pending_intents(session.db, lab):
        config = state.lab.spec.providers.get(intent.provider)
        exists = None
        if config is not None and config.enabled:
            try:
                exists = session.provider(lab, intent.provider, config).find(intent.resource) is not None
            except Exception as exc:  # cannot verify now: leave it pending for the next run
                notes.append(f"{intent.resource}: cannot verify unfinished {intent.op} yet: {exc}")
                continue
        done = exists if intent.op != "delete" else (exists is False)
        status = "verified" if done else "abandoned"
        finish_intent(
            session.db,
            intent.id,
            status=status,
            audit={
                "lab": lab,
                "entity_type": "resource",
                "entity_id": intent.resource,
                "action": f"{intent.op}-resumed",
                "actor": session.actor,
                "actor_kind": "system",
                "tool": "reconcile",
                "run_id": intent.run_id,
                "outcome": "ok" if done else "redo",
                "arguments": {"op": intent.op, "intent": intent.id},
                "result": {
                    "message": f"unfinished {intent.op} found {'complete' if done else 'not done; the plan redoes it'}"
                },
            },
        )
        notes.append(f"{intent.resource}: unfinished {intent.op} {status}")
    return notes
