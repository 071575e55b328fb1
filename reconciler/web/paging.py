"""Cursor paging for every list: `?limit=N&cursor=C`, answered with `items` and `next_cursor`.

A cursor is opaque to clients: base64url of the sort key of the last item returned. The next page holds
the items strictly after that key in the list's order, so rows added or removed between two requests
never repeat or skip an item that existed on both.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from reconciler.service.errors import Invalid

T = TypeVar("T")
SortKey = tuple[Any, ...]

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_CURSOR = 1024
NOT_A_CURSOR = "query parameter cursor is not valid; pass the next_cursor of the previous page unchanged"


class BadCursor(Invalid):
    """A `cursor` query parameter this server did not make for this list: a 400 naming the parameter."""

    parameter = "cursor"


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next page; null on the last")
    limit: int = Field(description="The page size asked for")


def encode_cursor(key: SortKey) -> str:
    """The opaque cursor of a sort key."""
    raw = json.dumps(list(key), separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> SortKey:
    """The sort key in a cursor; Invalid when it is not one this server made."""
    if len(cursor) > MAX_CURSOR:
        raise BadCursor("query parameter cursor is too long; pass the next_cursor of the previous page unchanged")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadCursor(NOT_A_CURSOR) from None
    if not isinstance(key, list) or not all(isinstance(k, str | int | float | None) for k in key):
        raise BadCursor(NOT_A_CURSOR)
    return tuple(key)


def _comparable(key: SortKey) -> SortKey:
    # None sorts first; values of one position share a type within a list.
    return tuple((0, "") if k is None else (1, k) for k in key)


def page_of(items: Sequence[T], key: Callable[[T], SortKey], *, cursor: str | None, limit: int,
            descending: bool = False) -> Page[T]:
    """The page of items (already in their list order, by key) after cursor."""
    start = 0
    if cursor:
        after = _comparable(decode_cursor(cursor))
        try:
            start = next((i for i, item in enumerate(items)
                          if (_comparable(key(item)) < after if descending else _comparable(key(item)) > after)),
                         len(items))
        except TypeError:
            raise BadCursor("query parameter cursor does not belong to this list; start again without one") from None
    chunk = list(items[start:start + limit])
    more = start + limit < len(items)
    return Page[T](items=chunk, next_cursor=encode_cursor(key(chunk[-1])) if more and chunk else None, limit=limit)
