"""Rebuild drills: run one on a scratch lab (nothing touches the real providers), list and show stored reports."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from reconciler.service.drill import DrillSummary, RebuildDrillReport, drill_report, rebuild_drill
from reconciler.web.api.params import DEFAULT, Cursor, Limit
from reconciler.web.auth import requires, scope_extra
from reconciler.web.context import context_of
from reconciler.web.listing import drill_entries
from reconciler.web.paging import Page
from reconciler.web.principal import Principal
from reconciler.web.problems import PROBLEM_RESPONSES

router = APIRouter(tags=["drills"], responses=PROBLEM_RESPONSES)
READ = [Depends(requires("read"))]


class DrillRequest(BaseModel):
    """A rebuild drill to run now."""

    snapshot: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[0-9a-f]+$",
                                 description="Snapshot id (or unique prefix) whose nodes to simulate; default: the "
                                             "latest")


@router.get("/drills", dependencies=READ, openapi_extra=scope_extra("read"))
def list_drills(request: Request, limit: Limit = DEFAULT, cursor: Cursor = None) -> Page[DrillSummary]:
    """Stored rebuild drill reports, newest first (score and when; the items: GET /drills/{id})."""
    return drill_entries(context_of(request), limit=limit, cursor=cursor)


@router.get("/drills/{drill_id}", dependencies=READ, openapi_extra=scope_extra("read"))
def get_drill(request: Request, drill_id: str = Path(max_length=32, description="Report id or unique prefix")
              ) -> RebuildDrillReport:
    """One stored drill report: per resource restored or not restorable, and why."""
    ctx = context_of(request)
    return ctx.call(lambda: drill_report(ctx.lab, drill_id))


@router.post("/drills", status_code=201, openapi_extra=scope_extra("propose"))
def run_drill(request: Request, body: DrillRequest,
              principal: Principal = Depends(requires("propose"))) -> RebuildDrillReport:
    """Apply main onto simulated copies of a snapshot's nodes (no guests) in a throwaway scratch lab, judge each
    resource, and store the report (nothing touches the real providers; like POST /snapshots, it only adds a
    record)."""
    ctx = context_of(request)
    return ctx.call(lambda: rebuild_drill(ctx.lab, snapshot_id=body.snapshot, actor=principal.actor,
                                          actor_kind="human"))
