"""What happened: runs with phase timings, the deviation timeline (adopt/revert open proposals), snapshots,
the audit log with chain verification, and starting a run."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from starlette.responses import RedirectResponse, Response

from reconciler.service import browse, commands, queries
from reconciler.service.errors import Unavailable
from reconciler.web.auth import csrf_checked, page_principal, page_requires
from reconciler.web.context import context_of
from reconciler.web.listing import audit_entries, run_entries, snapshot_entries, timeline_entries
from reconciler.web.pages.rendering import render
from reconciler.web.paging import MAX_CURSOR
from reconciler.web.principal import Principal

router = APIRouter(include_in_schema=False)
READ = [Depends(page_principal)]
Cursor = Annotated[str | None, Query(max_length=MAX_CURSOR)]
PHASES = ("fetch", "load", "render", "observe", "diff", "gate", "preflight", "apply", "prune", "record")


@router.get("/runs", dependencies=READ)
def runs(request: Request, cursor: Cursor = None) -> Response:
    """Run history with phase timings."""
    page = run_entries(context_of(request), limit=25, cursor=cursor)
    return render(request, "runs.html", title="Runs", page=page, phases=PHASES)


@router.get("/runs/{run_id}", dependencies=READ)
def run(request: Request, run_id: Annotated[str, Path(max_length=64)]) -> Response:
    """One run: status, counts, phase timings as a bar chart."""
    ctx = context_of(request)
    view = ctx.call(lambda: browse.run(ctx.lab, run_id))
    timings = [(k, float(v)) for k, v in view.phase_timings.items() if isinstance(v, int | float)]
    top = max((v for _, v in timings), default=0.0) or 1.0
    return render(request, "run.html", title=f"Run {view.id[:10]}", run=view, timings=timings, top=top)


@router.post("/runs", dependencies=[Depends(csrf_checked)])
def start_run(request: Request, principal: Principal = Depends(page_requires("approve"))) -> Response:
    """Reconcile main now under the lab's policy."""
    ctx = context_of(request)
    if ctx.trigger_run is None:
        raise Unavailable("this server does not run reconciles; run `homeport apply` or the daemon")
    ctx.trigger_run(principal.actor)
    return RedirectResponse("/runs", status_code=303)


@router.get("/deviations", dependencies=READ)
def deviations(request: Request, cursor: Cursor = None) -> Response:
    """Open deviations with adopt/revert actions, and the timeline of all deviations (100 a page)."""
    ctx = context_of(request)
    open_items = ctx.call(lambda: queries.deviations(ctx.lab))
    page = timeline_entries(ctx, resource=None, limit=100, cursor=cursor)
    by_resource: dict[str, list[object]] = {}
    for d in open_items:
        by_resource.setdefault(d.resource, []).append(d)
    return render(request, "deviations.html", title="Drift", by_resource=by_resource, timeline=page.items,
                  next_cursor=page.next_cursor)


@router.post("/deviations/{resource}/resolve", dependencies=[Depends(csrf_checked)])
def resolve(request: Request, resource: Annotated[str, Path(max_length=253)],
            how: Annotated[Literal["adopt", "revert"], Form()],
            principal: Principal = Depends(page_requires("propose"))) -> Response:
    """Open a proposal resolving the resource's drift, and show it."""
    ctx = context_of(request)
    view = ctx.call(lambda: commands.resolve_drift(ctx.lab, resource, how, author=principal.actor,
                                                   author_kind="human"))
    return RedirectResponse(f"/proposals/{view.id}", status_code=303)


@router.get("/snapshots", dependencies=READ)
def snapshots(request: Request, cursor: Cursor = None) -> Response:
    """Stored snapshots, newest first (50 a page)."""
    page = snapshot_entries(context_of(request), limit=50, cursor=cursor)
    return render(request, "snapshots.html", title="Snapshots", snapshots=page.items, next_cursor=page.next_cursor)


@router.post("/snapshots", dependencies=[Depends(csrf_checked)])
def take_snapshot(request: Request, notes: Annotated[str, Form(max_length=2000)] = "",
                  principal: Principal = Depends(page_requires("propose"))) -> Response:
    """Observe every provider now and store it with the desired state."""
    ctx = context_of(request)
    created = ctx.call(lambda: commands.snapshot(ctx.lab, notes=notes or None))
    return RedirectResponse(f"/snapshots/{created.id}", status_code=303)


@router.get("/snapshots/{snapshot_id}", dependencies=READ)
def snapshot(request: Request, snapshot_id: Annotated[str, Path(max_length=64)]) -> Response:
    """One snapshot: what was observed and declared."""
    ctx = context_of(request)
    view = ctx.call(lambda: queries.snapshot(ctx.lab, snapshot_id))
    return render(request, "snapshot.html", title=f"Snapshot {view.name}", s=view)


@router.get("/audit", dependencies=READ)
def audit(request: Request, cursor: Cursor = None,
          entity: Annotated[str | None, Query(max_length=255)] = None,
          verify: Annotated[bool, Query()] = False) -> Response:
    """The audit log, newest first, and (on request) its hash-chain verification."""
    ctx = context_of(request)
    page = audit_entries(ctx, entity=entity or None, limit=50, cursor=cursor)
    chain = ctx.call(lambda: queries.verify_audit(ctx.lab)) if verify else None
    return render(request, "audit.html", title="Audit log", page=page, chain=chain, entity=entity or "")
