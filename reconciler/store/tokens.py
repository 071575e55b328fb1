"""API tokens for the MCP HTTP transport: random secrets shown once, stored as SHA-256 hashes with scopes."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from reconciler.store.database import Database
from reconciler.store.tables import ApiTokenRow, new_id, now_utc

SCOPES: tuple[str, ...] = ("read", "propose", "approve", "admin")
TOKEN_PREFIX = "hpt_"
TOUCH_INTERVAL_S = 60
MAX_EXPIRES_DAYS = 3650


class TokenError(ValueError):
    """A token request is invalid (unknown scope, bad name)."""


@dataclass(frozen=True)
class TokenInfo:
    """A token's record, never its secret."""

    id: str
    lab: str
    name: str
    owner: str
    scopes: tuple[str, ...]
    created_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def from_row(cls, row: ApiTokenRow) -> TokenInfo:
        """The info of a row."""
        return cls(row.id, row.lab, row.name, row.owner, tuple(row.scopes or ()), row.created_at, row.expires_at,
                   row.revoked_at, row.last_used_at)


def hash_token(secret: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_scopes(text: str | list[str]) -> tuple[str, ...]:
    """'read,propose' -> ('read', 'propose'); TokenError names unknown scopes."""
    items = text.split(",") if isinstance(text, str) else text
    scopes = tuple(dict.fromkeys(s.strip() for s in items if s.strip()))
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise TokenError(f"unknown scope(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(SCOPES)} "
                         "(agents get read,propose)")
    return scopes


def create_token(db: Database, lab: str, *, name: str, owner: str, scopes: tuple[str, ...],
                 expires_in_days: int | None = None) -> tuple[str, TokenInfo]:
    """A new token: (secret shown once, its record)."""
    if not name.strip() or len(name) > 100:
        raise TokenError("token name must be 1 to 100 characters, e.g. 'claude-desktop'")
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRES_DAYS:
        raise TokenError(f"a token expires after 1 to {MAX_EXPIRES_DAYS} days (got {expires_in_days}); "
                         "leave the expiry out for a token that lasts until it is revoked")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = now_utc() + timedelta(days=expires_in_days) if expires_in_days is not None else None
    row = ApiTokenRow(id=new_id(), lab=lab, name=name, owner=owner, token_hash=hash_token(secret),
                      scopes=list(scopes), created_at=now_utc(), expires_at=expires)
    with db.session() as s:
        s.add(row)
        s.flush()
        info = TokenInfo.from_row(row)
    return secret, info


def verify_token(db: Database, secret: str, *, lab: str, touch: bool = True) -> TokenInfo | None:
    """The record of a valid (known, unrevoked, unexpired) token of this lab, else None; last use kept to the minute.

    A token belongs to the lab name it was made for: on a shared database one lab's token never opens
    another, and renaming a lab ends its tokens (what `token list` shows is exactly what is accepted).
    """
    digest = hash_token(secret)
    with db.session() as s:
        row = s.execute(select(ApiTokenRow).where(ApiTokenRow.token_hash == digest,
                                                  ApiTokenRow.lab == lab)).scalar_one_or_none()
        if row is None or row.revoked_at is not None:
            return None
        now = now_utc()
        expires = row.expires_at
        if expires is not None and (expires.replace(tzinfo=now.tzinfo) if expires.tzinfo is None else expires) < now:
            return None
        last = row.last_used_at
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=now.tzinfo)
        # Recorded at most once a minute: a write per request would cost more than the request.
        if touch and (last is None or (now - last).total_seconds() >= TOUCH_INTERVAL_S):
            row.last_used_at = now
        return TokenInfo.from_row(row)


def list_tokens(db: Database, lab: str) -> list[TokenInfo]:
    """Every token of a lab (revoked ones too), oldest first."""
    with db.session() as s:
        rows = s.execute(select(ApiTokenRow).where(ApiTokenRow.lab == lab).order_by(ApiTokenRow.created_at))
        return [TokenInfo.from_row(r) for r in rows.scalars()]


def revoke_token(db: Database, lab: str, token_id_or_name: str) -> int:
    """Revoke tokens by id or name; the number revoked."""
    with db.session() as s:
        result = s.execute(update(ApiTokenRow)
                           .where(ApiTokenRow.lab == lab, ApiTokenRow.revoked_at.is_(None),
                                  (ApiTokenRow.id == token_id_or_name) | (ApiTokenRow.name == token_id_or_name))
                           .values(revoked_at=now_utc()))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
