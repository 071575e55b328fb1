"""Lists that are paged in the database (runs, the audit log): keyset cursors, one query per page."""

from __future__ import annotations

from datetime import datetime

from reconciler.service import browse
from reconciler.service.errors import Invalid
from reconciler.service.views import AuditEntry, RunView
from reconciler.web.context import WebContext
from reconciler.web.paging import Page, decode_cursor, encode_cursor


def audit_entries(ctx: WebContext, *, entity: str | None, limit: int, cursor: str | None) -> Page[AuditEntry]:
    """A page of the audit log, newest first (optionally about one entity)."""
    before: int | None = None
    if cursor:
        key = decode_cursor(cursor)
        if len(key) != 1 or not isinstance(key[0], int) or isinstance(key[0], bool):
            raise Invalid("cursor does not belong to the audit log; start again without a cursor")
        before = key[0]
    rows = ctx.call(lambda: browse.audit_page(ctx.lab, before_seq=before, entity=entity, limit=limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page[AuditEntry](items=rows, limit=limit,
                            next_cursor=encode_cursor((rows[-1].seq,)) if more and rows else None)


def run_entries(ctx: WebContext, *, limit: int, cursor: str | None) -> Page[RunView]:
    """A page of reconcile runs, newest first."""
    before: tuple[datetime, str] | None = None
    if cursor:
        key = decode_cursor(cursor)
        try:
            if len(key) != 2 or not isinstance(key[1], str):
                raise ValueError
            before = (datetime.fromisoformat(str(key[0])), key[1])
        except ValueError:
            raise Invalid("cursor does not belong to the run list; start again without a cursor") from None
    rows = ctx.call(lambda: browse.runs_page(ctx.lab, before=before, limit=limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    cursor_out = (encode_cursor((last.started_at.isoformat() if last.started_at else "", last.id))
                  if more and last is not None else None)
    return Page[RunView](items=rows, limit=limit, next_cursor=cursor_out)
