"""Server-rendered pages (Jinja2 + htmx served locally): readable without JavaScript, forms with CSRF tokens."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from reconciler.service.errors import ServiceError
from reconciler.web.auth import LoginRequired
from reconciler.web.context import WebContext
from reconciler.web.pages import activity, admin, browse_pages, drill, proposals, session
from reconciler.web.pages.oidc_login import oidc_login_routes
from reconciler.web.pages.rendering import render
from reconciler.web.problems import status_of

log = logging.getLogger("homeport.web")


def pages_app(ctx: WebContext) -> FastAPI:
    """The app serving the pages (no OpenAPI of its own: pages are for people)."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.homeport = ctx
    app.router.routes.extend(oidc_login_routes(ctx))  # /login/oidc and its callback, before the pages
    for module in (session, browse_pages, drill, proposals, activity, admin):
        app.include_router(module.router)

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path if request.method == "GET" else "/"
        if request.headers.get("hx-request"):
            return Response(status_code=204, headers={"HX-Redirect": "/login"})
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(ServiceError)
    async def on_service_error(request: Request, exc: ServiceError) -> Response:
        return render(request, "error.html", status_of(exc), title="Could not do that", message=exc.message,
                      hint=exc.hint)

    @app.exception_handler(HTTPException)
    async def on_http_error(request: Request, exc: HTTPException) -> Response:
        titles = {403: "Not allowed", 404: "Not found", 405: "Not allowed"}
        return render(request, "error.html", exc.status_code, title=titles.get(exc.status_code, "Error"),
                      message=str(exc.detail), hint=None)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> Response:
        where = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()[:5])
        return render(request, "error.html", 422, title="Invalid request", message=where, hint=None)

    @app.exception_handler(Exception)
    async def on_bug(request: Request, exc: Exception) -> Response:
        log.exception("page failed: %s %s", request.method, request.url.path)
        return render(request, "error.html", 500, title="Something failed",
                      message="homeport failed to show this page; the server log has the details", hint=None)

    return app
