"""The append-only audit log: each row carries the hash of the one before, so tampering shows."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from reconciler.store.database import Database
from reconciler.store.tables import AuditLogRow, new_id, now_utc

GENESIS = "0" * 64
AUDIT_LOCK_KEY = 0x686F6D65706F7274  # "homeport"
_SECRET_KEY = re.compile(r"(secret|password|passwd|token|api[_-]?key|private[_-]?key|credential)", re.IGNORECASE)


def redact(value: Any) -> Any:
    """A copy with values under secret-looking keys replaced by '***' (names ending in _env/_file are kept)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            k = str(key)
            if _SECRET_KEY.search(k) and not k.endswith(("_env", "_file", "_id")) and not isinstance(item, dict | list):
                out[k] = "***" if item not in (None, "") else item
            else:
                out[k] = redact(item)
        return out
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _row_hash(prev: str, fields: dict[str, Any]) -> str:
    payload = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256((prev + payload).encode()).hexdigest()


def _hashed_fields(row: AuditLogRow) -> dict[str, Any]:
    ts = row.timestamp
    stamp = ts.replace(tzinfo=None).isoformat() if isinstance(ts, datetime) else str(ts)
    return {
        "id": row.id,
        "lab": row.lab,
        "entity_type": row.entity_type,
        "entity_id": row.entity_id,
        "action": row.action,
        "actor": row.actor,
        "actor_kind": row.actor_kind,
        "tool": row.tool,
        "arguments": row.arguments,
        "result": row.result,
        "outcome": row.outcome,
        "run_id": row.run_id,
        "proposal_id": row.proposal_id,
        "timestamp": stamp,
    }


def append_audit(
    session: Session,
    *,
    lab: str,
    entity_type: str,
    entity_id: str,
    action: str,
    actor: str,
    actor_kind: str = "system",
    tool: str | None = None,
    arguments: dict[str, Any] | None = None,
    result: dict[str, Any] | None = None,
    outcome: str = "ok",
    run_id: str | None = None,
    proposal_id: str | None = None,
    duration_ms: float | None = None,
) -> AuditLogRow:
    """Append one row in the caller's transaction (arguments and results redacted).

    Appenders are serialised (an advisory lock on PostgreSQL, SQLite's write lock taken by the insert), so
    the chain never forks.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})
    row = AuditLogRow(
        id=new_id(),
        lab=lab,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        actor=actor,
        actor_kind=actor_kind,
        tool=tool,
        arguments=redact(arguments or {}),
        result=redact(result or {}),
        outcome=outcome,
        run_id=run_id,
        proposal_id=proposal_id,
        duration_ms=duration_ms,
        timestamp=now_utc().replace(microsecond=0),
        prev_hash="",
        row_hash="",
    )
    session.add(row)
    session.flush()
    prev = (
        session.execute(
            select(AuditLogRow.row_hash).where(AuditLogRow.seq < row.seq).order_by(AuditLogRow.seq.desc()).limit(1)
        ).scalar_one_or_none()
        or GENESIS
    )
    row.prev_hash = prev
    row.row_hash = _row_hash(prev, _hashed_fields(row))
    session.flush()
    return row


@dataclass(frozen=True)
class ChainReport:
    """Result of verifying the audit chain."""

    rows: int
    ok: bool
    first_bad_seq: int | None = None
    problem: str = ""


def verify_chain(db: Database) -> ChainReport:
    """Recompute every row's hash in order; report the first row that does not match."""
    prev = GENESIS
    count = 0
    with db.session() as s:
        for row in s.execute(select(AuditLogRow).order_by(AuditLogRow.seq)).scalars():
            count += 1
            if row.prev_hash != prev:
                return ChainReport(
                    count, False, row.seq, "prev_hash does not match the row before (a row was removed or reordered)"
                )
            if _row_hash(prev, _hashed_fields(row)) != row.row_hash:
                return ChainReport(count, False, row.seq, "row content does not match its hash (the row was edited)")
            prev = row.row_hash
    return ChainReport(count, True)


def recent_audit(db: Database, lab: str, limit: int = 50) -> list[AuditLogRow]:
    """The newest rows, oldest first."""
    with db.session() as s:
        rows = list(
            s.execute(
                select(AuditLogRow).where(AuditLogRow.lab == lab).order_by(AuditLogRow.seq.desc()).limit(limit)
            ).scalars()
        )
    return list(reversed(rows))


def resource_audit(db: Database, lab: str, resource: str, limit: int = 50) -> list[AuditLogRow]:
    """The newest rows about one resource, oldest first."""
    with db.session() as s:
        rows = list(s.execute(select(AuditLogRow).where(AuditLogRow.lab == lab, AuditLogRow.entity_id == resource)
                              .order_by(AuditLogRow.seq.desc()).limit(limit)).scalars())
    return list(reversed(rows))
