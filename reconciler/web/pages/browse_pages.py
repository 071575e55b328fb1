"""Reading pages: the lab tree, a resource, templates, capacity, the plan for a ref."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import Response

from reconciler.service import browse, commands, queries
from reconciler.service.errors import NotFound, ServiceError
from reconciler.web.api.resources import resource_detail, resource_page
from reconciler.web.auth import page_principal
from reconciler.web.context import context_of
from reconciler.web.pages.charts import node_bars
from reconciler.web.pages.rendering import render
from reconciler.web.paging import MAX_CURSOR

router = APIRouter(include_in_schema=False, dependencies=[Depends(page_principal)])
Name = Annotated[str, Path(max_length=253)]
PER_POOL = 25  # the lab page stays small however big the lab: the rest of a pool is a link away


@router.get("/")
def lab_tree(request: Request) -> Response:
    """Pools ▸ resources with sync and drift status per resource and provider."""
    ctx = context_of(request)
    tree = ctx.call(lambda: browse.lab_tree(ctx.lab, per_pool=PER_POOL))
    status = ctx.call(lambda: queries.runs(ctx.lab, limit=1))
    open_props = ctx.call(lambda: queries.proposals(ctx.lab, status="open", limit=20))
    return render(request, "lab.html", title=f"Lab {tree.lab}", tree=tree, last_run=status[0] if status else None,
                  open_proposals=open_props)


@router.get("/resources")
def resources(request: Request, pool: Annotated[str | None, Query(max_length=500)] = None,
              cursor: Annotated[str | None, Query(max_length=MAX_CURSOR)] = None) -> Response:
    """Declared resources with their status, 100 a page (all, or one pool's)."""
    page = resource_page(context_of(request), pool=pool or None, limit=100, cursor=cursor)
    return render(request, "resources.html", title=f"Resources in {pool}" if pool else "Resources", page=page,
                  pool=pool or "")


@router.get("/resources/{name}")
def resource(request: Request, name: Name) -> Response:
    """A resource: effective definition with where each value came from, rendered files, instance, history."""
    ctx = context_of(request)
    detail = resource_detail(request, name)
    try:
        instance = ctx.call(lambda: browse.instance_named(ctx.lab, name))
    except NotFound:
        instance = None
    try:
        rendered = ctx.call(lambda: browse.rendered_files(ctx.lab, name))
        render_error = None
    except ServiceError as exc:
        rendered, render_error = None, exc.message
    history = ctx.call(lambda: browse.audit_page(ctx.lab, entity=name, limit=20))
    deviations = ctx.call(lambda: browse.deviation_timeline(ctx.lab, resource=name, limit=50))
    return render(request, "resource.html", title=f"Resource {name}", d=detail, instance=instance,
                  rendered=rendered, render_error=render_error, history=history, deviations=deviations)


@router.get("/templates")
def templates(request: Request) -> Response:
    """Deployment templates declared at main."""
    ctx = context_of(request)
    items = ctx.call(lambda: queries.templates(ctx.lab))
    return render(request, "templates.html", title="Templates", templates=items)


@router.get("/capacity")
def capacity(request: Request) -> Response:
    """Capacity per node as charts: allocated vs capacity vs usage."""
    ctx = context_of(request)
    report = ctx.call(lambda: queries.capacity(ctx.lab))
    providers = ctx.call(lambda: ctx.lab.state().lab.spec.providers)
    # A provider switched off in homeport.yaml is not a problem worth a warning here.
    unavailable = {name: why for name, why in report.unavailable.items()
                   if name not in providers or providers[name].enabled}
    charts = [(node, node_bars(node)) for node in report.nodes]
    return render(request, "capacity.html", title="Capacity", unavailable=unavailable, charts=charts)


@router.get("/plan")
def plan(request: Request, ref: Annotated[str | None, Query(max_length=255)] = None) -> Response:
    """The plan for a ref (main by default): what applying it would change."""
    ctx = context_of(request)
    report = ctx.call(lambda: commands.plan(ctx.lab, ref=ref or None))
    order = {"delete": 0, "replace": 1, "update": 2, "rename": 3, "create": 4, "noop": 5}
    changes = sorted(report.plan.changes, key=lambda c: (order.get(c.op.value, 9), c.resource))
    return render(request, "plan.html", title="Plan", report=report, changes=changes, ref=ref or "")
