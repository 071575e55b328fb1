"""Live updates: a server-sent event stream that says when a reconcile run finishes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import anyio
from starlette.requests import Request

from reconciler.service import browse
from reconciler.web.context import WebContext

HEARTBEAT_SECONDS = 15.0


def _latest(ctx: WebContext) -> tuple[str, str] | None:
    run = ctx.call(lambda: browse.latest_finished_run(ctx.lab))
    if run is None:
        return None
    return run.id, json.dumps({"id": run.id, "status": run.status, "revision": run.revision,
                               "finished_at": run.finished_at.isoformat() if run.finished_at else None,
                               "summary": run.counts_text()})


async def run_events(request: Request, ctx: WebContext, after: str | None = None) -> AsyncIterator[str]:
    """`event: run` each time a newer run has finished; a comment line as heartbeat. Ends when the client goes.

    after: the newest finished run the client already shows (a page renders it), so a run that finishes
    between rendering the page and opening the stream is still announced.
    """
    after = request.headers.get("last-event-id", "")[:64] or after  # a reconnecting EventSource says what it saw
    seen: tuple[str, str] | None = (after, "") if after else await anyio.to_thread.run_sync(_latest, ctx)
    first = True
    yield "retry: 3000\n\n"
    idle = 0.0
    while not await request.is_disconnected():
        if not first:
            await asyncio.sleep(ctx.settings.poll_seconds)
            idle += ctx.settings.poll_seconds
        first = False
        latest = await anyio.to_thread.run_sync(_latest, ctx)
        if latest is not None and (seen is None or latest[0] != seen[0]):
            seen = latest
            idle = 0.0
            yield f"event: run\nid: {latest[0]}\ndata: {latest[1]}\n\n"
        elif idle >= HEARTBEAT_SECONDS:
            idle = 0.0
            yield ": keep-alive\n\n"
