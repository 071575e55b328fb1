"""Paged listings for read tools: `limit`, `cursor`, `fields`, `all` (docs/mcp.md, "Paged listings").

A listing is sorted by a stable key. A page holds at most `limit` items whose key comes after the cursor's
(keyset paging): an item added or removed between two pages never makes another item repeat or go missing.
The cursor is opaque to agents: base64url of {tool, filters digest, last key}. A cursor that was mangled,
belongs to another tool or was made with other filters is refused with a message that says to start again
without it. `fields` picks item fields (unknown names are refused with the list of known ones); `all`
returns every item in one answer.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import Field

from mcp_server.toolspec import AgentError, ToolInput

T = TypeVar("T")
DEFAULT_LIMIT = 25
MAX_LIMIT = 500


class PageInput(ToolInput):
    """Paging arguments shared by listing tools."""

    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page")
    cursor: str | None = Field(default=None, max_length=600, description="next_cursor of the previous page")
    fields: list[str] | None = Field(default=None, max_length=40, description="Item fields to return (default: all)")
    all: bool = Field(default=False, description="Every item in one answer, no paging")


@dataclass(frozen=True)
class Page:
    """One page of a listing: its items, the total that matched, and the cursor of the next page."""

    items: list[dict[str, Any]]
    total: int
    next_cursor: str | None


def filters_digest(filters: dict[str, Any]) -> str:
    """A short digest of the arguments that decide which items a listing holds (not limit, cursor, fields)."""
    return hashlib.sha256(json.dumps(filters, sort_keys=True, default=str).encode()).hexdigest()[:16]


def encode_cursor(tool: str, digest: str, key: Sequence[Any]) -> str:
    """The opaque cursor after the item whose sort key is key."""
    raw = json.dumps({"t": tool, "f": digest, "k": list(key)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(tool: str, digest: str, cursor: str) -> list[Any]:
    """The sort key a cursor continues after; AgentError when it is not one of this listing's cursors."""
    again = "start again without `cursor`"
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise AgentError(f"invalid cursor: not a cursor this tool returned; {again}") from None
    if not isinstance(data, dict) or not isinstance(data.get("k"), list) or data.get("t") != tool:
        raise AgentError(f"invalid cursor: it is not a next_cursor of {tool}; {again}")
    if data.get("f") != digest:
        raise AgentError(f"invalid cursor: it was made with other filter arguments; send the same filters as for "
                         f"the first page, or {again}")
    return list(data["k"])


def pick_fields(items: list[dict[str, Any]], fields: list[str] | None, known: Sequence[str],
                default: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Each item with only the fields asked for (default, or all, when None); AgentError naming unknown ones."""
    if fields is None:
        if default is None:
            return items
        fields = list(default)
    unknown = [f for f in fields if f not in known]
    if unknown:
        raise AgentError(f"unknown field(s) {', '.join(unknown)}; fields of these items: {', '.join(known)}")
    return [{k: item[k] for k in fields if k in item} for item in items]


def page(tool: str, items: list[T], args: PageInput, *, sort_key: Callable[[T], Sequence[Any]],
         filters: dict[str, Any], as_dict: Callable[[T], dict[str, Any]], known: Sequence[str],
         default_fields: Sequence[str] | None = None, ordered: bool = False) -> Page:
    """The page of items (sorted by sort_key, which must be unique per item; ordered: they already are) that
    args ask for, each with the fields asked for (default_fields, or every field, when args name none)."""
    digest = filters_digest(filters)
    if not ordered:
        items = sorted(items, key=lambda item: tuple(sort_key(item)))
    if args.fields is not None:
        pick_fields([], args.fields, known)  # unknown names are refused even on an empty page
    if args.all:
        chosen, more = items, False
    else:
        start = 0
        if args.cursor:
            after = tuple(decode_cursor(tool, digest, args.cursor))
            try:
                start = next((i for i, item in enumerate(items) if tuple(sort_key(item)) > after), len(items))
            except TypeError:  # a key of other types than this listing's: not one of its cursors
                raise AgentError(f"invalid cursor: it is not a next_cursor of {tool}; start again without "
                                 "`cursor`") from None
        chosen = items[start:start + args.limit]
        more = start + args.limit < len(items)
    cursor = encode_cursor(tool, digest, sort_key(chosen[-1])) if more and chosen else None
    return Page(items=pick_fields([as_dict(item) for item in chosen], args.fields, known, default_fields),
                total=len(items), next_cursor=cursor)
