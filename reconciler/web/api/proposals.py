"""Proposals: list, show (plan with deletes first, risk, rendered diff, reason and evidence), create from
YAML edits, approve and reject (the approve scope)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from reconciler.service import commands, queries
from reconciler.service.views import ApproveResult, ProposalView
from reconciler.service.whatif import WhatIfReport, require_whatif, whatif_proposal
from reconciler.web.api.params import DEFAULT, Cursor, Limit
from reconciler.web.auth import requires, scope_extra
from reconciler.web.context import WebContext, context_of
from reconciler.web.listing import proposal_entries
from reconciler.web.paging import Page
from reconciler.web.principal import Principal
from reconciler.web.problems import PROBLEM_RESPONSES

router = APIRouter(tags=["proposals"], responses=PROBLEM_RESPONSES)
READ = [Depends(requires("read"))]
ProposalId = Path(max_length=255, description="Proposal id (or its branch)")
MAX_FILE = 256 * 1024
OP_ORDER = {"delete": 0, "replace": 1, "update": 2, "rename": 3, "create": 4}


class ProposalRequest(BaseModel):
    """A change to propose: whole-file YAML edits (null deletes a file), a title, and why."""

    title: str = Field(min_length=1, max_length=200)
    reason: str | None = Field(default=None, max_length=4000)
    evidence: dict[str, Any] = Field(default_factory=dict, description="What the change is based on")
    files: dict[Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_./-]+\.ya?ml$")],
                Annotated[str, Field(max_length=MAX_FILE)] | None] = Field(
        min_length=1, max_length=50, description="Repository path -> new YAML text (null removes the file)")


class RejectRequest(BaseModel):
    """Why a proposal is rejected (kept in the record)."""

    reason: str | None = Field(default=None, max_length=2000)


def deletes_first(proposal: ProposalView) -> ProposalView:
    """The proposal with its planned changes ordered for review: deletes, replaces, updates, renames, creates."""
    plan = dict(proposal.plan)
    changes = plan.get("changes")
    if isinstance(changes, list):
        plan["changes"] = sorted(changes, key=lambda c: (OP_ORDER.get(str(c.get("op")), 9), str(c.get("resource"))))
    return proposal.model_copy(update={"plan": plan})


@router.get("/proposals", dependencies=READ, openapi_extra=scope_extra("read"))
def list_proposals(request: Request,
                   status: Annotated[Literal["open", "merged", "rejected"] | None, Query()] = None,
                   limit: Limit = DEFAULT, cursor: Cursor = None) -> Page[ProposalView]:
    """Proposals, newest first, optionally of one status."""
    return proposal_entries(context_of(request), status=status, limit=limit, cursor=cursor)


def proposal_for_review(ctx: WebContext, proposal_id: str) -> ProposalView:
    """One proposal, its changes ordered for review."""
    return deletes_first(ctx.call(lambda: queries.proposal(ctx.lab, proposal_id)))


@router.get("/proposals/{proposal_id}", dependencies=READ, openapi_extra=scope_extra("read"))
def get_proposal(request: Request, proposal_id: str = ProposalId) -> ProposalView:
    """One proposal: its plan (deletes first), risk, rendered diff, reason and evidence."""
    return proposal_for_review(context_of(request), proposal_id)


def create(ctx: WebContext, principal: Principal, body: ProposalRequest) -> ProposalView:
    """Commit the edits on a new proposal branch with its plan preview."""
    edits = {path: (text.encode() if text is not None else None) for path, text in body.files.items()}
    draft = commands.ProposalDraft(title=body.title, edits=edits, reason=body.reason, evidence=body.evidence)
    return ctx.call(lambda: commands.propose(ctx.lab, draft, author=principal.actor, author_kind="human"))


@router.post("/proposals", status_code=201, openapi_extra=scope_extra("propose"))
def create_proposal(request: Request, body: ProposalRequest,
                    principal: Principal = Depends(requires("propose"))) -> ProposalView:
    """A proposal from YAML edits: a branch with one commit and its plan preview (merged only on approval,
    or at once when the lab's auto-merge policy covers its risk)."""
    return create(context_of(request), principal, body)


def approve(ctx: WebContext, principal: Principal, proposal_id: str) -> ApproveResult:
    """Merge the proposal, then ask for a run (the daemon's queue, or this process)."""
    result = ctx.call(lambda: commands.approve(ctx.lab, proposal_id, reviewer=principal.actor,
                                               reviewer_kind="human"))
    if ctx.trigger_run is not None:
        ctx.trigger_run(principal.actor)
    return result


@router.post("/proposals/{proposal_id}/approve", openapi_extra=scope_extra("approve"))
def approve_proposal(request: Request, proposal_id: str = ProposalId,
                     principal: Principal = Depends(requires("approve"))) -> ApproveResult:
    """Merge an open proposal into main; the reconciler applies it under the lab's policy."""
    return approve(context_of(request), principal, proposal_id)


@router.post("/proposals/{proposal_id}/reject", openapi_extra=scope_extra("approve"))
def reject_proposal(request: Request, body: RejectRequest, proposal_id: str = ProposalId,
                    principal: Principal = Depends(requires("approve"))) -> ProposalView:
    """Close an open proposal without merging (its branch is kept for the record)."""
    ctx = context_of(request)
    return ctx.call(lambda: commands.reject(ctx.lab, proposal_id, reviewer=principal.actor, reviewer_kind="human",
                                            reason=body.reason))


@router.get("/proposals/{proposal_id}/whatif", dependencies=READ, openapi_extra=scope_extra("read"))
def get_whatif(request: Request, proposal_id: str = ProposalId) -> WhatIfReport:
    """The proposal's newest stored what-if (404 when none was run: POST to run one)."""
    ctx = context_of(request)
    return ctx.call(lambda: require_whatif(ctx.lab, queries.proposal(ctx.lab, proposal_id).id))


@router.post("/proposals/{proposal_id}/whatif", status_code=201, openapi_extra=scope_extra("propose"))
def run_whatif(request: Request, proposal_id: str = ProposalId,
               principal: Principal = Depends(requires("propose"))) -> WhatIfReport:
    """Simulate main, then the open proposal, on a scratch copy of the live providers it touches (observed read
    only); store the report with the proposal (and in its pull request's body)."""
    ctx = context_of(request)
    return ctx.call(lambda: whatif_proposal(ctx.lab, proposal_id, actor=principal.actor, actor_kind="human"))
