"""apply_intents: written before a provider call that changes something, marked done after."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reconciler.store.audit import append_audit
from reconciler.store.database import Database
from reconciler.store.tables import ApplyIntentRow, now_utc


def idempotency_key(lab: str, revision: str, resource: str, op: str, desired: dict[str, Any]) -> str:
    """Same lab, revision, resource, op and desired fields -> same key."""
    import json

    payload = json.dumps([lab, revision, resource, op, desired], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def begin_intent(
    db: Database, *, lab: str, run_id: str, resource: str, provider: str, op: str, key: str, change: dict[str, Any]
) -> str:
    """Insert (or re-open) the intent for key; return its id."""
    with db.session() as s:
        row = s.execute(select(ApplyIntentRow).where(ApplyIntentRow.idempotency_key == key)).scalar_one_or_none()
        if row is None:
            row = ApplyIntentRow(
                lab=lab,
                run_id=run_id,
                resource=resource,
                provider=provider,
                op=op,
                idempotency_key=key,
                change=change,
                status="pending",
                attempts=1,
            )
            s.add(row)
        else:
            row.status = "pending"
            row.run_id = run_id
            row.attempts += 1
        s.flush()
        return row.id


def finish_intent(
    db: Database,
    intent_id: str,
    *,
    status: str,
    result: dict[str, Any] | None = None,
    error: str | None = None,
    audit: dict[str, Any] | None = None,
    also: Callable[[Session], None] | None = None,
) -> None:
    """Mark an intent done, failed or verified; `audit` and `also` are written in the same transaction."""
    with db.session() as s:
        if also is not None:
            also(s)
        row = s.get(ApplyIntentRow, intent_id)
        if row is not None:
            row.status = status
            row.result = result or {}
            row.error = error
            row.finished_at = now_utc()
        if audit is not None:
            append_audit(s, **audit)


def pending_intents(db: Database, lab: str) -> list[ApplyIntentRow]:
    """Intents a crashed run left unfinished."""
    with db.session() as s:
        return list(
            s.execute(
                select(ApplyIntentRow)
                .where(ApplyIntentRow.lab == lab, ApplyIntentRow.status == "pending")
                .order_by(ApplyIntentRow.created_at)
            ).scalars()
        )
