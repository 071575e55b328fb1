"""Drill and what-if pages: the rebuild drill with its past reports (read scope to look, propose to run one: it
stores a report) and a proposal's what-if (propose to run; the report is stored with the proposal and shown on its
review page)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from starlette.responses import RedirectResponse, Response

from reconciler.service.drill import drill_report, rebuild_drill
from reconciler.service.whatif import whatif_proposal
from reconciler.web.auth import csrf_checked, page_principal, page_requires
from reconciler.web.context import context_of
from reconciler.web.listing import drill_entries
from reconciler.web.pages.rendering import render
from reconciler.web.paging import MAX_CURSOR
from reconciler.web.principal import Principal

router = APIRouter(include_in_schema=False)
READ = [Depends(page_principal)]


@router.get("/drill", dependencies=READ)
def drill_page(request: Request, cursor: Annotated[str | None, Query(max_length=MAX_CURSOR)] = None) -> Response:
    """What the drill does, a button to run it, and the stored reports, newest first."""
    page = drill_entries(context_of(request), limit=25, cursor=cursor)
    return render(request, "drill.html", title="Rebuild drill", report=None, snapshot="", past=page)


@router.get("/drill/{drill_id}", dependencies=READ)
def drill_report_page(request: Request, drill_id: Annotated[str, Path(max_length=32)]) -> Response:
    """One stored drill report."""
    ctx = context_of(request)
    report = ctx.call(lambda: drill_report(ctx.lab, drill_id))
    return render(request, "drill.html", title=f"Rebuild drill {report.id and report.id[:12]}", report=report,
                  snapshot=report.snapshot_id or "", past=None)


@router.post("/drill", dependencies=[Depends(csrf_checked)])
def run_drill(request: Request, snapshot: Annotated[str, Form(max_length=64)] = "",
              principal: Principal = Depends(page_requires("propose"))) -> Response:
    """Run the drill on a scratch lab, store its report and show it."""
    ctx = context_of(request)
    report = ctx.call(lambda: rebuild_drill(ctx.lab, snapshot_id=snapshot.strip() or None, actor=principal.actor,
                                            actor_kind="human"))
    return RedirectResponse(f"/drill/{report.id}", status_code=303)


@router.post("/proposals/{proposal_id}/whatif", dependencies=[Depends(csrf_checked)])
def run_whatif(request: Request, proposal_id: Annotated[str, Path(max_length=255)],
               principal: Principal = Depends(page_requires("propose"))) -> Response:
    """Run the proposal's what-if; its review page shows the stored report."""
    ctx = context_of(request)
    ctx.call(lambda: whatif_proposal(ctx.lab, proposal_id, actor=principal.actor, actor_kind="human"))
    return RedirectResponse(f"/proposals/{proposal_id}#whatif-h", status_code=303)
