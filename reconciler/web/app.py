"""The web door as one ASGI app: pages at /, the REST API at /api/v1 (OpenAPI 3.1 at /api/v1/openapi.json),
static assets at /static; the daemon and `homeport serve` add /mcp, /webhook, /healthz and /metrics."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from reconciler.service.errors import ServiceError
from reconciler.web.api import api_router
from reconciler.web.context import WebContext
from reconciler.web.etags import ETagMiddleware
from reconciler.web.pages import pages_app
from reconciler.web.problems import Problem, http_problem, problem, service_problem, validation_problem

log = logging.getLogger("homeport.web")
STATIC = Path(__file__).parent / "static"
API_PREFIX = "/api/v1"

API_DESCRIPTION = """homeport's REST API: the lab, pools, templates, resources, instances, runs, deviations,
snapshots, proposals, plans, the audit log and tokens. Every request carries `Authorization: Bearer <token>`
(`homeport token create NAME --scopes read`); each operation names the scope it needs in `x-required-scope`
(read, propose, approve, admin; admin holds every scope). Errors are `application/problem+json` (RFC 9457)
with a stable `code`. Lists take `limit` and `cursor` and answer `next_cursor`. Reads carry an ETag."""


def api_app(ctx: WebContext) -> FastAPI:
    """The /api/v1 app (mounted by the web app)."""
    app = FastAPI(title="homeport", version="1", description=API_DESCRIPTION, docs_url=None, redoc_url=None,
                  openapi_url="/openapi.json", servers=[{"url": API_PREFIX}])
    app.state.homeport = ctx
    app.include_router(api_router())

    @app.exception_handler(ServiceError)
    async def on_service_error(request: Request, exc: ServiceError) -> Response:
        return service_problem(request, exc)

    @app.exception_handler(HTTPException)
    async def on_http_error(request: Request, exc: HTTPException) -> Response:
        return http_problem(request, exc)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> Response:
        return validation_problem(request, exc)

    @app.exception_handler(Exception)
    async def on_bug(request: Request, exc: Exception) -> Response:
        log.exception("API request failed: %s %s", request.method, request.url.path)
        return problem(500, "homeport failed to answer this request; the server log has the details",
                       code="internal", instance=request.url.path)

    def openapi() -> dict[str, Any]:
        """The OpenAPI document with the Problem schema, made on first request (not at start-up: ~0.3 s)."""
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)
            schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = Problem.model_json_schema()
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def build_web_app(ctx: WebContext) -> FastAPI:
    """Pages, the API and static assets for one served lab (mount it, or add /mcp and friends beside it)."""
    app = pages_app(ctx)
    app.mount(API_PREFIX, ETagMiddleware(api_app(ctx), prefix="", skip=("/events",)))  # type: ignore[arg-type]
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
