"""The lab, its pools (flat and as a tree), templates and node capacity."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from reconciler.models.placement import CapacityReport
from reconciler.models.pool import ResourcePool
from reconciler.models.template import DeploymentTemplate
from reconciler.service import browse, pages, queries
from reconciler.service.errors import NotFound
from reconciler.service.views import RunView
from reconciler.web.api.params import DEFAULT, Cursor, Limit
from reconciler.web.auth import requires, scope_extra
from reconciler.web.context import context_of
from reconciler.web.paging import MAX_LIMIT, Page, page_of
from reconciler.web.problems import PROBLEM_RESPONSES

router = APIRouter(tags=["lab"], responses=PROBLEM_RESPONSES)
READ = [Depends(requires("read"))]
Name = Path(max_length=253, description="DNS-1123 name")


class ProviderInfo(BaseModel):
    """A provider instance of the lab (never its credentials)."""

    name: str
    type: str
    enabled: bool
    endpoint: str | None = None
    nodes: list[str] = Field(default_factory=list)


class LabInfo(BaseModel):
    """The lab at main: name, revision, providers and how many of everything."""

    name: str
    revision: str
    main_branch: str
    providers: list[ProviderInfo]
    pools: int
    templates: int
    resources: int
    open_deviations: int
    open_proposals: int
    last_run: RunView | None = None


@router.get("/lab", dependencies=READ, openapi_extra=scope_extra("read"))
def get_lab(request: Request) -> LabInfo:
    """The lab at main."""
    ctx = context_of(request)

    def build() -> LabInfo:
        state = ctx.lab.state()
        runs = queries.runs(ctx.lab, limit=1)
        return LabInfo(
            name=state.lab_name, revision=state.revision, main_branch=state.lab.spec.main_branch,
            providers=[ProviderInfo(name=n, type=str(c.type), enabled=c.enabled, endpoint=c.endpoint,
                                    nodes=list(c.nodes)) for n, c in sorted(state.lab.spec.providers.items())],
            pools=len(state.pools), templates=len(state.templates), resources=len(state.effective),
            open_deviations=len(queries.deviations(ctx.lab)),
            open_proposals=pages.proposal_count(ctx.lab, status="open"),
            last_run=runs[0] if runs else None)

    return ctx.call(build)


@router.get("/pools", dependencies=READ, openapi_extra=scope_extra("read"))
def list_pools(request: Request, limit: Limit = DEFAULT, cursor: Cursor = None) -> Page[ResourcePool]:
    """Resource pools declared at main, by path."""
    ctx = context_of(request)
    pools = sorted(ctx.call(lambda: queries.pools(ctx.lab)), key=lambda p: p.spec.path)
    return page_of(pools, lambda p: (p.spec.path,), cursor=cursor, limit=limit)


@router.get("/pools/tree", dependencies=READ, openapi_extra=scope_extra("read"))
def pool_tree(request: Request,
              per_pool: Annotated[int, Query(ge=0, le=MAX_LIMIT, description="Resources listed per pool; the "
                                             "rest: GET /resources?pool=PATH")] = DEFAULT) -> browse.LabTree:
    """The pool hierarchy with each pool's resources, their sync and drift status, and a summary per provider."""
    ctx = context_of(request)
    return ctx.call(lambda: browse.lab_tree(ctx.lab, per_pool=per_pool))


@router.get("/pools/{name}", dependencies=READ, openapi_extra=scope_extra("read"))
def get_pool(request: Request, name: str = Name) -> ResourcePool:
    """One pool by name."""
    ctx = context_of(request)
    found = ctx.call(lambda: ctx.lab.state().pools.get(name))
    if found is None:
        raise NotFound(f"no pool {name!r} is declared at main; list them with GET /api/v1/pools")
    return found


@router.get("/templates", dependencies=READ, openapi_extra=scope_extra("read"))
def list_templates(request: Request, limit: Limit = DEFAULT, cursor: Cursor = None) -> Page[DeploymentTemplate]:
    """Deployment templates declared at main, by name."""
    ctx = context_of(request)
    items = ctx.call(lambda: queries.templates(ctx.lab))
    return page_of(items, lambda t: (t.metadata.name,), cursor=cursor, limit=limit)


@router.get("/templates/{name}", dependencies=READ, openapi_extra=scope_extra("read"))
def get_template(request: Request, name: str = Name) -> DeploymentTemplate:
    """One template by name."""
    ctx = context_of(request)
    found = ctx.call(lambda: ctx.lab.state().templates.get(name))
    if found is None:
        raise NotFound(f"no template {name!r} is declared at main; list them with GET /api/v1/templates")
    return found


@router.get("/capacity", dependencies=READ, openapi_extra=scope_extra("read"))
def get_capacity(request: Request,
                 provider: Annotated[str | None, Query(max_length=63, description="Only this provider")] = None,
                 ) -> CapacityReport:
    """Per node: capacity, what the lab's resources placed there are allocated, the allocation ratios placement
    uses, the provider's reported use, and what is free to place (observes the providers, read only)."""
    ctx = context_of(request)
    return ctx.call(lambda: queries.capacity(ctx.lab, provider=provider))
