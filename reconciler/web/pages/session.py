"""Logging in with a token (into an HttpOnly, SameSite=Strict session cookie), logging out, live updates."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from reconciler.service import commands
from reconciler.web.auth import browser_session, csrf_checked, page_principal, verify_secret
from reconciler.web.context import context_of
from reconciler.web.events import run_events
from reconciler.web.pages.oidc_login import oidc_enabled
from reconciler.web.pages.rendering import render
from reconciler.web.principal import Principal
from reconciler.web.sessions import LOGIN_CSRF_COOKIE, SESSION_COOKIE, same_secret

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only a local path (never another site) after login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login")
def login_form(request: Request, next: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    """The login form: paste a token (it is posted, never put in a URL)."""
    if browser_session(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", login_csrf=token, next=_safe_next(next), error=None,
                      oidc=oidc_enabled(context_of(request)))
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login",
                        secure=context_of(request).settings.secure_cookies, max_age=3600)
    return response


@router.post("/login")
def login(request: Request, token: Annotated[str, Form(max_length=4096)],
          csrf_token: Annotated[str, Form(max_length=200)] = "",
          next: Annotated[str, Form(max_length=500)] = "/") -> Response:
    """Check the token; on success start a session and go on."""
    ctx = context_of(request)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not same_secret(csrf_token, expected):
        return render(request, "login.html", 403, login_csrf=expected, next=_safe_next(next),
                      error="The login form expired: reload the page and try again.")
    principal = verify_secret(ctx, token.strip(), via="session")
    if principal is None:
        return render(request, "login.html", 401, login_csrf=expected, next=_safe_next(next),
                      error="That token is unknown, revoked or expired.")
    session = ctx.session_store.create(token.strip())
    ctx.call(lambda: commands.record_audit(ctx.lab, entity_type="session", entity_id=principal.token_name,
                                           action="web-login", actor=principal.actor, actor_kind="human",
                                           tool="web"))
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, session.id, httponly=True, samesite="strict", path="/",
                        secure=ctx.settings.secure_cookies)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout", dependencies=[Depends(csrf_checked)])
def logout(request: Request) -> Response:
    """End this browser's session."""
    ctx = context_of(request)
    ctx.session_store.end(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/events")
def events(request: Request, after: Annotated[str | None, Query(max_length=64)] = None,
           principal: Principal = Depends(page_principal)) -> StreamingResponse:
    """Server-sent events for the pages: `run` when a reconcile run finishes (after the one the page shows)."""
    return StreamingResponse(run_events(request, context_of(request), after or None), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store"})
