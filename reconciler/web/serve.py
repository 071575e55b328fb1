"""One ASGI app on one port: web UI at /, REST API at /api/v1, MCP at /mcp (found through the `homeport.mcp`
entry point that `mcp_server` registers), plus the caller's routes (/webhook, /healthz, /metrics)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from reconciler.service import LabService
from reconciler.service.identity import bearer_for
from reconciler.web.app import build_web_app
from reconciler.web.body_limit import BodyLimitMiddleware
from reconciler.web.context import WebContext
from reconciler.web.health import health_routes
from reconciler.web.hosts import HostCheckMiddleware
from reconciler.web.problems import problem
from reconciler.web.settings import WebSettings

log = logging.getLogger("homeport.web")
MCP_ENTRY_POINT_GROUP = "homeport.mcp"


class McpMount(Protocol):
    """What the `homeport.mcp` entry point returns: the streamable HTTP app and how to close its lab."""

    app: Starlette

    def close(self) -> None:
        """Release the MCP server's lab session."""


McpFactory = Callable[..., McpMount]


def find_mcp_factory() -> McpFactory | None:
    """The MCP app factory that `mcp_server` registers (None when it is not installed)."""
    for ep in entry_points(group=MCP_ENTRY_POINT_GROUP):
        if ep.name == "http":
            factory: McpFactory = ep.load()
            return factory
    return None


async def not_found(request: Request, exc: Exception) -> Response:
    """A path no route takes (not even the pages' catch-all): a problem under /api, plain text elsewhere."""
    status = getattr(exc, "status_code", 404)
    if request.url.path.startswith("/api/"):
        return problem(status, "no such API path; see /api/v1/openapi.json", instance=request.url.path)
    return PlainTextResponse("Not found", status_code=status)


@dataclass
class ServedLab:
    """Everything one port serves for a lab, and what to close afterwards."""

    app: ASGIApp
    context: WebContext
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        """Close the lab sessions (web and MCP)."""
        for close in reversed(self.closers):
            try:
                close()
            except Exception:  # closing is best effort; the process is ending
                log.exception("closing failed")


def serve_lab(lab_dir: Path, *, settings: WebSettings, public_url: str, host: str = "127.0.0.1",
              database_url: str | None = None, routes: list[BaseRoute] | None = None,
              trigger_run: Callable[[str], str] | None = None, with_mcp: bool = True) -> ServedLab:
    """The app for one lab: `routes` first (the daemon's /webhook, /healthz, /metrics; without them, this
    module's /healthz and /metrics), then /mcp, then the UI and the API. Every request passes the Host check."""
    lab = LabService.open(lab_dir, database_url=database_url, actor="web", actor_kind="human", memory_cache=True)
    ctx = WebContext(lab=lab, settings=settings, trigger_run=trigger_run,
                     bearer=bearer_for(lab, base_url=public_url))
    web = build_web_app(ctx)
    closers: list[Callable[[], None]] = [lab.close]
    own_routes: list[BaseRoute] = list(routes) if routes is not None else health_routes(ctx)
    mcp_lifespans: list[Any] = []
    factory = find_mcp_factory() if with_mcp else None
    if factory is not None:
        mount = factory(lab_dir, database_url=database_url, host=host, allowed_hosts=settings.allowed_hosts,
                        public_url=public_url)
        closers.append(mount.close)
        mcp_lifespans.append(mount.app)
        # The MCP app keeps its own auth middleware; hand it its paths whole.
        own_routes += [Route(r.path, mount.app) for r in mount.app.routes if isinstance(r, Route)]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for sub in mcp_lifespans:
                await stack.enter_async_context(sub.router.lifespan_context(sub))
            yield

    top = Starlette(routes=[*own_routes, Mount("/", app=web)], lifespan=lifespan,
                    exception_handlers={404: not_found, 405: not_found})
    return ServedLab(app=HostCheckMiddleware(BodyLimitMiddleware(top), settings), context=ctx, closers=closers)
