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
_REFERENCE_SUFFIXES = ("_env", "_file", "_id")
# `password: x`, `token=x`, `"api_key": "x"` inside free text (YAML, env files, JSON sent as a string).
_SECRET_IN_TEXT = re.compile(
    r"""(?<![A-Za-z0-9_.-])(?P<key>["']?[A-Za-z0-9_.-]{0,24}?(?:secret|password|passwd|token|api[_-]?key|private[_-]?key|credential)"""
    r"""[A-Za-z0-9_.-]{0,24}["']?[ \t]{0,8}[:=][ \t]{0,8})"""
    r"""(?P<value>[\[{\\][^\n]{0,2000}|"[^"\n]{0,2000}"|'[^'\n]{0,2000}'|[^\s,}\]]{1,2000})""",
    re.IGNORECASE,
)
_SECRET_WORDS = ("secret", "password", "passwd", "token", "key", "credential")
_HOMEPORT_TOKEN = re.compile(r"hpt_[A-Za-z0-9_-]{16,}")
AUDIT_STRING_CHARS = 2_000
AUDIT_LIST_ITEMS = 50
AUDIT_DEPTH = 12
AUDIT_FIELD_CHARS = 16_000
JSON_TEXT_CHARS = 1_048_576


def _secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key)) and not key.endswith(_REFERENCE_SUFFIXES)


def redact_text(text: str) -> str:
    """Free text with `key: value` secrets and homeport tokens replaced by '***' (references kept);
    a mapping or list after a secret key is masked to the end of its line."""
    parsed = _json_in(text)
    if parsed is not None:
        return json.dumps(redact(parsed), default=str)

    def _value(match: re.Match[str]) -> str:
        key = match.group("key").strip().rstrip(":=").strip().strip("\"'")
        return match.group(0) if key.endswith(_REFERENCE_SUFFIXES) else match.group("key") + "***"

    lowered = text.lower()
    if any(word in lowered for word in _SECRET_WORDS):
        text = _SECRET_IN_TEXT.sub(_value, text)
    return _HOMEPORT_TOKEN.sub("hpt_***", text) if "hpt_" in text else text


def _json_in(text: str) -> dict[str, Any] | list[Any] | None:
    """A JSON object or array sent as a string (agents do), parsed; None for any other text."""
    if text[:1] not in ("{", "[") or len(text) > JSON_TEXT_CHARS:
        return None
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict | list) else None


def redact(value: Any, depth: int = 0) -> Any:
    """A copy with every value under a secret-looking key replaced by '***', whatever its shape (a mapping
    or list under such a key goes whole), and secrets inside free text masked; names ending in _env,
    _file and _id are references and kept."""
    if depth > AUDIT_DEPTH:
        return "*** (nested too deeply to record)"
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            k = str(key)
            if _secret_key(k):
                out[k] = "***" if item not in (None, "", [], {}) else item
            else:
                out[k] = redact(item, depth + 1)
        return out
    if isinstance(value, list | tuple):
        return [redact(v, depth + 1) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def _kept(value: Any, depth: int = 0) -> Any:
    """Redacted and bounded in one walk: JSON sent as text is redacted whole before it is cut, and
    free text is cut before it is scanned (so scanning stays cheap)."""
    if depth > AUDIT_DEPTH:
        return "... (nested deeper than recorded)"
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in list(value.items())[:AUDIT_LIST_ITEMS]:
            k = str(key)[:200]
            out[k] = ("***" if item not in (None, "", [], {}) else item) if _secret_key(k) else _kept(item, depth + 1)
        return out
    if isinstance(value, list | tuple):
        items = [_kept(v, depth + 1) for v in value[:AUDIT_LIST_ITEMS]]
        if len(value) > AUDIT_LIST_ITEMS:
            items.append(f"... {len(value) - AUDIT_LIST_ITEMS} more")
        return items
    if isinstance(value, str):
        parsed = _json_in(value)
        if parsed is not None:
            value = json.dumps(_kept(parsed, depth + 1), default=str)
            return value if len(value) <= AUDIT_STRING_CHARS else value[:AUDIT_STRING_CHARS] + "... (cut)"
        if len(value) > AUDIT_STRING_CHARS:
            return redact_text(value[:AUDIT_STRING_CHARS]) + f"... ({len(value):,} chars)"
        return redact_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return _kept(str(value), depth)


def audit_payload(value: dict[str, Any] | None) -> dict[str, Any]:
    """What the audit log keeps of arguments or a result: redacted and bounded."""
    kept = _kept(value or {})
    if len(json.dumps(kept, default=str)) > AUDIT_FIELD_CHARS:
        kept = {"truncated": True, "keys": sorted(kept)[:AUDIT_LIST_ITEMS] if isinstance(kept, dict) else []}
    return kept if isinstance(kept, dict) else {"value": kept}


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
        arguments=audit_payload(arguments),
        result=audit_payload(result),
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
