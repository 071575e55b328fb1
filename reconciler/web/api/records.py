"""Snapshots and the audit log (paged, with chain verification)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from reconciler.service import commands, queries
from reconciler.service.views import AuditChain, AuditEntry, SnapshotCreated, SnapshotView
from reconciler.web.api.params import DEFAULT, Cursor, Limit
from reconciler.web.auth import requires, scope_extra
from reconciler.web.context import context_of
from reconciler.web.listing import audit_entries, snapshot_entries
from reconciler.web.paging import Page
from reconciler.web.problems import PROBLEM_RESPONSES

router = APIRouter(tags=["records"], responses=PROBLEM_RESPONSES)
READ = [Depends(requires("read"))]


class SnapshotRequest(BaseModel):
    """A snapshot to take now."""

    name: str | None = Field(default=None, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._:-]*$")
    notes: str | None = Field(default=None, max_length=2000)


@router.get("/snapshots", dependencies=READ, openapi_extra=scope_extra("read"))
def list_snapshots(request: Request, limit: Limit = DEFAULT, cursor: Cursor = None) -> Page[SnapshotView]:
    """Stored snapshots, newest first (without their data)."""
    return snapshot_entries(context_of(request), limit=limit, cursor=cursor)


@router.get("/snapshots/{snapshot_id}", dependencies=READ, openapi_extra=scope_extra("read"))
def get_snapshot(request: Request, snapshot_id: str = Path(max_length=64)) -> SnapshotView:
    """One snapshot with its data (observed inventory and desired state, secrets left out)."""
    ctx = context_of(request)
    return ctx.call(lambda: queries.snapshot(ctx.lab, snapshot_id))


@router.post("/snapshots", status_code=201, dependencies=[Depends(requires("propose"))],
             openapi_extra=scope_extra("propose"))
def take_snapshot(request: Request, body: SnapshotRequest) -> SnapshotCreated:
    """Observe every enabled provider now and store it with the desired state at main."""
    ctx = context_of(request)
    return ctx.call(lambda: commands.snapshot(ctx.lab, name=body.name, notes=body.notes))


@router.get("/audit", dependencies=READ, openapi_extra=scope_extra("read"))
def list_audit(request: Request,
               entity: Annotated[str | None, Query(max_length=255, description="Only rows about this entity")] = None,
               limit: Limit = DEFAULT, cursor: Cursor = None) -> Page[AuditEntry]:
    """The append-only audit log, newest first (arguments and results redacted)."""
    return audit_entries(context_of(request), entity=entity, limit=limit, cursor=cursor)


@router.get("/audit/verify", dependencies=READ, openapi_extra=scope_extra("read"))
def verify_audit(request: Request) -> AuditChain:
    """Recompute the audit log's hash chain: ok is false when a row was edited, removed or reordered."""
    ctx = context_of(request)
    return ctx.call(lambda: queries.verify_audit(ctx.lab))
