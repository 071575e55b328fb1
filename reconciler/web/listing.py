"""Lists that are paged in the database: keyset cursors, one query per page, no cap on how far a client pages.

Each list asks its service function for limit+1 rows after the cursor's key; the extra row only says that a
next page exists. A cursor that does not decode to this list's key is a 400 naming the `cursor` parameter.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from reconciler.service import browse, pages
from reconciler.service.drill import DrillSummary
from reconciler.service.views import (
    AuditEntry,
    DeviationView,
    InstanceView,
    ProposalView,
    RunView,
    SnapshotView,
    TokenView,
)
from reconciler.web.context import WebContext
from reconciler.web.paging import BadCursor, Page, SortKey, decode_cursor, encode_cursor

T = TypeVar("T")
K = TypeVar("K")


def _foreign(what: str) -> BadCursor:
    return BadCursor(f"query parameter cursor does not belong to {what}; start again without a cursor")


def time_key(what: str) -> Callable[[SortKey], tuple[datetime, str]]:
    """The parser of a (timestamp, id) cursor of the list `what`."""
    def parse(key: SortKey) -> tuple[datetime, str]:
        if len(key) != 2 or not isinstance(key[0], str) or not isinstance(key[1], str):
            raise _foreign(what)
        try:
            return (datetime.fromisoformat(key[0]), key[1])
        except ValueError:
            raise _foreign(what) from None
    return parse


def text_key(what: str, size: int) -> Callable[[SortKey], tuple[str, ...]]:
    """The parser of a cursor of `size` strings of the list `what`."""
    def parse(key: SortKey) -> tuple[str, ...]:
        if len(key) != size or not all(isinstance(k, str) for k in key):
            raise _foreign(what)
        return tuple(str(k) for k in key)
    return parse


def _stamp(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def keyset_page(ctx: WebContext, fetch: Callable[[K | None, int], list[T]], key: Callable[[T], SortKey],
                parse: Callable[[SortKey], K], *, limit: int, cursor: str | None) -> Page[T]:
    """A page: fetch(after, limit+1) rows after the cursor's key, the next cursor from the last row shown."""
    after = parse(decode_cursor(cursor)) if cursor else None
    rows = ctx.call(lambda: fetch(after, limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page[T](items=rows, limit=limit, next_cursor=encode_cursor(key(rows[-1])) if more and rows else None)


def audit_entries(ctx: WebContext, *, entity: str | None, limit: int, cursor: str | None) -> Page[AuditEntry]:
    """A page of the audit log, newest first (optionally about one entity)."""
    def parse(key: SortKey) -> int:
        if len(key) != 1 or not isinstance(key[0], int) or isinstance(key[0], bool):
            raise _foreign("the audit log")
        return key[0]

    return keyset_page(ctx, lambda after, n: browse.audit_page(ctx.lab, before_seq=after, entity=entity, limit=n),
                       lambda e: (e.seq,), parse, limit=limit, cursor=cursor)


def run_entries(ctx: WebContext, *, limit: int, cursor: str | None) -> Page[RunView]:
    """A page of reconcile runs, newest first."""
    return keyset_page(ctx, lambda after, n: pages.runs(ctx.lab, after=after, limit=n),
                       lambda r: (_stamp(r.started_at), r.id), time_key("the run list"), limit=limit, cursor=cursor)


def timeline_entries(ctx: WebContext, *, resource: str | None, limit: int, cursor: str | None) -> Page[DeviationView]:
    """A page of the deviation timeline (open and resolved), newest first."""
    return keyset_page(ctx, lambda after, n: pages.deviation_timeline(ctx.lab, resource=resource, after=after, limit=n),
                       lambda d: (_stamp(d.first_seen), d.id or ""), time_key("the deviation timeline"),
                       limit=limit, cursor=cursor)


def open_deviation_entries(ctx: WebContext, *, resource: str | None, limit: int,
                           cursor: str | None) -> Page[DeviationView]:
    """A page of open deviations, by resource and field."""
    def fetch(after: tuple[str, ...] | None, n: int) -> list[DeviationView]:
        key = (after[0], after[1], after[2]) if after else None
        return pages.open_deviations(ctx.lab, resource=resource, after=key, limit=n)

    return keyset_page(ctx, fetch, lambda d: (d.resource, d.field, d.id or ""), text_key("the open deviations", 3),
                       limit=limit, cursor=cursor)


def snapshot_entries(ctx: WebContext, *, limit: int, cursor: str | None) -> Page[SnapshotView]:
    """A page of stored snapshots (without their data), newest first."""
    return keyset_page(ctx, lambda after, n: pages.snapshots(ctx.lab, after=after, limit=n),
                       lambda s: (_stamp(s.created_at), s.id), time_key("the snapshot list"), limit=limit,
                       cursor=cursor)


def proposal_entries(ctx: WebContext, *, status: str | None, limit: int, cursor: str | None) -> Page[ProposalView]:
    """A page of proposals, newest first, optionally of one status."""
    return keyset_page(ctx, lambda after, n: pages.proposals(ctx.lab, status=status, after=after, limit=n),
                       lambda p: (_stamp(p.created_at), p.id), time_key("the proposal list"), limit=limit,
                       cursor=cursor)


def instance_entries(ctx: WebContext, *, limit: int, cursor: str | None) -> Page[InstanceView]:
    """A page of recorded instances, by name."""
    def fetch(after: tuple[str, ...] | None, n: int) -> list[InstanceView]:
        return pages.instances(ctx.lab, after=(after[0], after[1]) if after else None, limit=n)

    return keyset_page(ctx, fetch, lambda i: (i.name, i.id or ""), text_key("the instance list", 2), limit=limit,
                       cursor=cursor)


def token_entries(ctx: WebContext, *, limit: int, cursor: str | None) -> Page[TokenView]:
    """A page of API tokens, oldest first."""
    return keyset_page(ctx, lambda after, n: pages.tokens(ctx.lab, after=after, limit=n),
                       lambda t: (_stamp(t.created_at), t.id), time_key("the token list"), limit=limit,
                       cursor=cursor)


def drill_entries(ctx: WebContext, *, limit: int, cursor: str | None) -> Page[DrillSummary]:
    """A page of stored rebuild drill reports, newest first."""
    return keyset_page(ctx, lambda after, n: pages.drills(ctx.lab, after=after, limit=n),
                       lambda d: (_stamp(d.created_at), d.id), time_key("the drill list"), limit=limit,
                       cursor=cursor)
