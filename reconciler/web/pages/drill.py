"""Drill and what-if pages: run the rebuild drill (read scope) and a proposal's what-if (read scope; the report
is stored with the proposal and shown on its review page)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from starlette.responses import RedirectResponse, Response

from reconciler.service.drill import rebuild_drill
from reconciler.service.whatif import whatif_proposal
from reconciler.web.auth import csrf_checked, page_principal, page_requires
from reconciler.web.context import context_of
from reconciler.web.pages.rendering import render
from reconciler.web.principal import Principal

router = APIRouter(include_in_schema=False)


@router.get("/drill", dependencies=[Depends(page_principal)])
def drill_page(request: Request) -> Response:
    """What the drill does, and a button to run it."""
    return render(request, "drill.html", title="Rebuild drill", report=None, snapshot="")


@router.post("/drill", dependencies=[Depends(csrf_checked)])
def run_drill(request: Request, snapshot: Annotated[str, Form(max_length=64)] = "",
              principal: Principal = Depends(page_requires("read"))) -> Response:
    """Run the drill on a scratch lab and show its report."""
    ctx = context_of(request)
    report = ctx.call(lambda: rebuild_drill(ctx.lab, snapshot_id=snapshot.strip() or None))
    return render(request, "drill.html", title="Rebuild drill", report=report, snapshot=snapshot)


@router.post("/proposals/{proposal_id}/whatif", dependencies=[Depends(csrf_checked)])
def run_whatif(request: Request, proposal_id: Annotated[str, Path(max_length=255)],
               principal: Principal = Depends(page_requires("read"))) -> Response:
    """Run the proposal's what-if; its review page shows the stored report."""
    ctx = context_of(request)
    ctx.call(lambda: whatif_proposal(ctx.lab, proposal_id, actor=principal.actor, actor_kind="human"))
    return RedirectResponse(f"/proposals/{proposal_id}#whatif-h", status_code=303)
