"""Deviations: the open ones, the timeline of all, and resolving a resource's drift by proposal."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from reconciler.service import commands
from reconciler.service.views import DeviationView, ProposalView
from reconciler.web.api.params import DEFAULT, Cursor, Limit
from reconciler.web.auth import requires, scope_extra
from reconciler.web.context import context_of
from reconciler.web.listing import open_deviation_entries, timeline_entries
from reconciler.web.paging import Page
from reconciler.web.principal import Principal
from reconciler.web.problems import PROBLEM_RESPONSES

router = APIRouter(tags=["deviations"], responses=PROBLEM_RESPONSES)
READ = [Depends(requires("read"))]
Resource = Annotated[str | None, Query(max_length=253, description="Only this resource")]


class ResolveDrift(BaseModel):
    """How to resolve a resource's open drift: adopt the live values into Git, or revert live to Git."""

    how: Literal["adopt", "revert"] = Field(description="adopt: write live values into the YAML; revert: restore Git's")


@router.get("/deviations", dependencies=READ, openapi_extra=scope_extra("read"))
def list_deviations(request: Request, resource: Resource = None, limit: Limit = DEFAULT,
                    cursor: Cursor = None) -> Page[DeviationView]:
    """Open deviations, by resource and field."""
    return open_deviation_entries(context_of(request), resource=resource, limit=limit, cursor=cursor)


@router.get("/deviations/timeline", dependencies=READ, openapi_extra=scope_extra("read"))
def deviation_timeline(request: Request, resource: Resource = None, limit: Limit = DEFAULT,
                       cursor: Cursor = None) -> Page[DeviationView]:
    """Every deviation, open and resolved, newest first: when it was seen, when and how it was resolved."""
    return timeline_entries(context_of(request), resource=resource, limit=limit, cursor=cursor)


@router.post("/deviations/{resource}/resolve", status_code=201, openapi_extra=scope_extra("propose"))
def resolve(request: Request, body: ResolveDrift, resource: str = Path(max_length=253),
            principal: Principal = Depends(requires("propose"))) -> ProposalView:
    """Open a proposal that resolves the resource's open drift (a person approves it)."""
    ctx = context_of(request)
    return ctx.call(lambda: commands.resolve_drift(ctx.lab, resource, body.how, author=principal.actor,
                                                   author_kind="human"))
