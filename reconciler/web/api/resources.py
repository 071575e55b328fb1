"""Declared resources (desired and effective, with where each value came from, rendered files) and
recorded instances (expected, actual, deviation)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from reconciler.models.effective import EffectiveResource
from reconciler.models.resource import UniversalResource
from reconciler.service import browse
from reconciler.service.errors import NotFound
from reconciler.service.views import AuditEntry, InstanceView
from reconciler.web.api.params import DEFAULT, Cursor, Limit
from reconciler.web.auth import requires, scope_extra
from reconciler.web.context import WebContext, context_of
from reconciler.web.listing import audit_entries, instance_entries
from reconciler.web.paging import Page, page_of
from reconciler.web.problems import PROBLEM_RESPONSES

router = APIRouter(tags=["resources"], responses=PROBLEM_RESPONSES)
READ = [Depends(requires("read"))]
Name = Path(max_length=253, description="Resource name")


class ResourceDetail(BaseModel):
    """A declared resource: as written (desired), as merged (effective), where each value came from."""

    name: str
    file: str = Field(description="The YAML file declaring it")
    desired: UniversalResource
    effective: EffectiveResource
    origins: list[browse.ValueOrigin]
    state: browse.ResourceState


@router.get("/resources", dependencies=READ, openapi_extra=scope_extra("read"))
def list_resources(request: Request, limit: Limit = DEFAULT, cursor: Cursor = None,
                   pool: Annotated[str | None, Query(max_length=500, description="Only this pool (its path)")] = None,
                   ) -> Page[browse.ResourceState]:
    """Declared resources at main with their recorded status, by name."""
    return resource_page(context_of(request), pool=pool, limit=limit, cursor=cursor)


def resource_page(ctx: WebContext, *, pool: str | None, limit: int, cursor: str | None) -> Page[browse.ResourceState]:
    """A page of declared resources: names are paged first, then only that page's status is read."""
    names = page_of(ctx.call(lambda: browse.resource_names(ctx.lab, pool=pool)), lambda n: (n,), cursor=cursor,
                    limit=limit)
    items = ctx.call(lambda: browse.resource_states(ctx.lab, names.items))
    return Page[browse.ResourceState](items=items, next_cursor=names.next_cursor, limit=limit)


def resource_detail(request: Request, name: str) -> ResourceDetail:
    """The detail of one declared resource (pages use it too)."""
    ctx = context_of(request)

    def build() -> ResourceDetail:
        state = ctx.lab.state()
        desired = state.declared(name)  # a high_availability member's: its resource's
        effective = state.effective.get(name)
        if desired is None or effective is None:
            raise NotFound(f"no resource {name!r} is declared at main; list them with GET /api/v1/resources")
        ref = state.sources.get(("UniversalResource", desired.metadata.name))
        return ResourceDetail(name=name, file=ref.file if ref else "", desired=desired, effective=effective,
                              origins=browse.value_origins(state, name),
                              state=browse.resource_states(ctx.lab, [name])[0])

    return ctx.call(build)


@router.get("/resources/{name}", dependencies=READ, openapi_extra=scope_extra("read"))
def get_resource(request: Request, name: str = Name) -> ResourceDetail:
    """One declared resource: desired, effective, and where each effective value came from."""
    return resource_detail(request, name)


@router.get("/resources/{name}/rendered", dependencies=READ, openapi_extra=scope_extra("read"))
def get_rendered(request: Request, name: str = Name) -> browse.RenderedFiles:
    """The files the resource's chart renders at main."""
    ctx = context_of(request)
    return ctx.call(lambda: browse.rendered_files(ctx.lab, name))


@router.get("/resources/{name}/source", dependencies=READ, openapi_extra=scope_extra("read"))
def get_source(request: Request, name: str = Name) -> browse.SourceFile:
    """The YAML file declaring the resource, as committed on main (edit it into a proposal)."""
    ctx = context_of(request)
    return ctx.call(lambda: browse.source_file(ctx.lab, "UniversalResource", name))


@router.get("/resources/{name}/history", dependencies=READ, openapi_extra=scope_extra("read"))
def get_history(request: Request, name: str = Name, limit: Limit = DEFAULT, cursor: Cursor = None) -> Page[AuditEntry]:
    """What happened to the resource, from the audit log, newest first."""
    return audit_entries(context_of(request), entity=name, limit=limit, cursor=cursor)


@router.get("/instances", dependencies=READ, openapi_extra=scope_extra("read"))
def list_instances(request: Request, limit: Limit = DEFAULT, cursor: Cursor = None) -> Page[InstanceView]:
    """Recorded instances (expected state, actual state, deviation), by name."""
    return instance_entries(context_of(request), limit=limit, cursor=cursor)


@router.get("/instances/{name}", dependencies=READ, openapi_extra=scope_extra("read"))
def get_instance(request: Request, name: str = Name) -> InstanceView:
    """One recorded instance by resource name."""
    ctx = context_of(request)
    return ctx.call(lambda: browse.instance_named(ctx.lab, name))
