"""Proposal pages: list, review (plan with deletes first, risk, rendered diff, reason and evidence),
approve and reject (approve scope), and a new proposal from a YAML edit (propose scope)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from reconciler.service import browse, commands
from reconciler.service.errors import ServiceError
from reconciler.service.whatif import stored_whatif
from reconciler.web.api.proposals import ProposalRequest, approve, create, proposal_for_review
from reconciler.web.auth import csrf_checked, page_principal, page_requires
from reconciler.web.context import context_of
from reconciler.web.listing import proposal_entries
from reconciler.web.pages.rendering import render
from reconciler.web.paging import MAX_CURSOR
from reconciler.web.principal import Principal

router = APIRouter(include_in_schema=False)
ProposalId = Annotated[str, Path(max_length=255)]


@router.get("/proposals", dependencies=[Depends(page_principal)])
def list_proposals(request: Request,
                   status: Annotated[Literal["open", "merged", "rejected", "all"], Query()] = "open",
                   cursor: Annotated[str | None, Query(max_length=MAX_CURSOR)] = None) -> Response:
    """Proposals of one status, newest first (50 a page)."""
    page = proposal_entries(context_of(request), status=None if status == "all" else status, limit=50, cursor=cursor)
    return render(request, "proposals.html", title="Proposals", proposals=page.items, status=status,
                  next_cursor=page.next_cursor)


@router.get("/proposals/new")
def new_proposal(request: Request, resource: Annotated[str, Query(max_length=253)],
                 principal: Principal = Depends(page_requires("propose"))) -> Response:
    """Edit a resource's YAML into a proposal."""
    ctx = context_of(request)
    source = ctx.call(lambda: browse.source_file(ctx.lab, "UniversalResource", resource))
    return render(request, "proposal_new.html", title=f"Propose a change to {resource}", resource=resource,
                  path=source.path, text=source.text, title_text=f"Change {resource}", reason="", error=None)


@router.post("/proposals/new", dependencies=[Depends(csrf_checked)])
def create_proposal(request: Request, resource: Annotated[str, Form(max_length=253)],
                    path: Annotated[str, Form(max_length=255)], text: Annotated[str, Form(max_length=262144)],
                    title: Annotated[str, Form(max_length=200)], reason: Annotated[str, Form(max_length=4000)] = "",
                    principal: Principal = Depends(page_requires("propose"))) -> Response:
    """Create the proposal and show it; on an error, show the form again with the message."""
    ctx = context_of(request)
    try:
        body = ProposalRequest(title=title, reason=reason or None, files={path: text.replace("\r\n", "\n")},
                               evidence={"source": "web UI YAML edit"})
        view = create(ctx, principal, body)
    except (ServiceError, ValidationError) as exc:
        message = exc.message if isinstance(exc, ServiceError) else "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return render(request, "proposal_new.html", 422, title=f"Propose a change to {resource}", resource=resource,
                      path=path, text=text, title_text=title, reason=reason, error=message)
    return RedirectResponse(f"/proposals/{view.id}", status_code=303)


@router.get("/proposals/{proposal_id}", dependencies=[Depends(page_principal)])
def show_proposal(request: Request, proposal_id: ProposalId) -> Response:
    """Review a proposal."""
    ctx = context_of(request)
    view = proposal_for_review(ctx, proposal_id)
    whatif = ctx.call(lambda: stored_whatif(ctx.lab, view.id))
    return render(request, "proposal.html", title=f"Proposal {view.id}", p=view, whatif=whatif)


@router.post("/proposals/{proposal_id}/approve", dependencies=[Depends(csrf_checked)])
def approve_proposal(request: Request, proposal_id: ProposalId,
                     principal: Principal = Depends(page_requires("approve"))) -> Response:
    """Merge the proposal; the run that applies it shows up on the runs page."""
    approve(context_of(request), principal, proposal_id)
    return RedirectResponse(f"/proposals/{proposal_id}", status_code=303)


@router.post("/proposals/{proposal_id}/reject", dependencies=[Depends(csrf_checked)])
def reject_proposal(request: Request, proposal_id: ProposalId,
                    reason: Annotated[str, Form(max_length=2000)] = "",
                    principal: Principal = Depends(page_requires("approve"))) -> Response:
    """Close the proposal without merging."""
    ctx = context_of(request)
    ctx.call(lambda: commands.reject(ctx.lab, proposal_id, reviewer=principal.actor, reviewer_kind="human",
                                     reason=reason or None))
    return RedirectResponse(f"/proposals/{proposal_id}", status_code=303)
