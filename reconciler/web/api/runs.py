"""Reconcile runs (with phase timings), the plan for a ref, starting a run, and the live event stream."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel
from starlette.responses import StreamingResponse

from reconciler.service import browse, commands
from reconciler.service.errors import Unavailable
from reconciler.service.views import PlanReport, RunView
from reconciler.web.api.params import DEFAULT, Cursor, Limit
from reconciler.web.auth import requires, scope_extra
from reconciler.web.context import context_of
from reconciler.web.events import run_events
from reconciler.web.listing import run_entries
from reconciler.web.paging import Page
from reconciler.web.principal import Principal
from reconciler.web.problems import PROBLEM_RESPONSES

router = APIRouter(tags=["runs"], responses=PROBLEM_RESPONSES)
READ = [Depends(requires("read"))]


class RunStarted(BaseModel):
    """What asking for a run did: queued (the daemon runs it next), started (this process runs it now),
    or running (one is already under way)."""

    status: str


@router.get("/runs", dependencies=READ, openapi_extra=scope_extra("read"))
def list_runs(request: Request, limit: Limit = DEFAULT, cursor: Cursor = None) -> Page[RunView]:
    """Reconcile runs, newest first, each with its phase timings and counts."""
    return run_entries(context_of(request), limit=limit, cursor=cursor)


@router.get("/runs/{run_id}", dependencies=READ, openapi_extra=scope_extra("read"))
def get_run(request: Request, run_id: str = Path(max_length=64)) -> RunView:
    """One run by id."""
    ctx = context_of(request)
    return ctx.call(lambda: browse.run(ctx.lab, run_id))


@router.post("/runs", status_code=202, openapi_extra=scope_extra("approve"))
def start_run(request: Request, principal: Principal = Depends(requires("approve"))) -> RunStarted:
    """Reconcile main now under the lab's policy (as the daemon would)."""
    ctx = context_of(request)
    if ctx.trigger_run is None:
        raise Unavailable("this server does not run reconciles; run `homeport apply` or the daemon")
    return RunStarted(status=ctx.trigger_run(principal.actor))


@router.get("/plan", dependencies=READ, openapi_extra=scope_extra("read"))
def get_plan(request: Request,
             ref: Annotated[str | None, Query(max_length=255, description="Branch or commit (default: main)")] = None,
             ) -> PlanReport:
    """What applying ref would change (read only: providers are observed, nothing is changed)."""
    ctx = context_of(request)
    return ctx.call(lambda: commands.plan(ctx.lab, ref=ref))


@router.get("/events", dependencies=READ, openapi_extra=scope_extra("read"),
            response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}},
                             "description": "`event: run` with the finished run as JSON data"}})
def events(request: Request,
           after: Annotated[str | None, Query(max_length=64, description="Newest run id already seen")] = None,
           ) -> StreamingResponse:
    """Server-sent events: one `run` event each time a reconcile run finishes (after `after`, when given)."""
    return StreamingResponse(run_events(request, context_of(request), after or None), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store"})
