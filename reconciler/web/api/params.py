"""Query parameters every list shares: `limit` and `cursor`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from reconciler.web.paging import DEFAULT_LIMIT, MAX_CURSOR, MAX_LIMIT

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")]
Cursor = Annotated[str | None, Query(max_length=MAX_CURSOR, description="`next_cursor` of the previous page")]
DEFAULT = DEFAULT_LIMIT
