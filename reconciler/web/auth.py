"""Bearer tokens (REST API) and browser sessions (pages): one check of a token's secret, through the service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import anyio
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

from reconciler.service import commands
from reconciler.service.identity import Principal as IdentityPrincipal
from reconciler.web.context import WebContext, context_of
from reconciler.web.principal import Principal, refusal
from reconciler.web.sessions import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, BrowserSession, same_secret

MAX_TOKEN = 4096
BEARER = HTTPBearer(auto_error=False, description="A homeport token (`homeport token create NAME --scopes read`)")
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="homeport"'}


def verify_secret(ctx: WebContext, secret: str, via: str = "bearer") -> Principal | None:
    """The principal holding a token secret, or None when it is unknown, revoked or expired."""
    if not secret or len(secret) > MAX_TOKEN or not secret.isascii() or not secret.isprintable():
        return None
    token = ctx.call(lambda: commands.authenticate_token(ctx.lab, secret))
    if token is None:
        return None
    return Principal(owner=token.owner, token_name=token.name, scopes=frozenset(token.scopes), token_id=token.id,
                     via="session" if via == "session" else "bearer")


def from_identity(identity: IdentityPrincipal, via: Literal["bearer", "session"]) -> Principal:
    """The web principal for a verified identity (a homeport token's, or the OIDC provider's subject)."""
    if identity.source == "token":
        return Principal(owner=identity.subject, token_name=identity.token_name or "", scopes=identity.scopes,
                         token_id=identity.token_id, via=via)
    return Principal(owner=identity.subject, token_name="oidc", scopes=identity.scopes, via=via, kind="oidc")


async def api_principal(request: Request,
                        credentials: HTTPAuthorizationCredentials | None = Depends(BEARER)) -> Principal:
    """The caller of an API request: a valid bearer token (homeport's, or the lab's OIDC provider's), else 401."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "this API needs a bearer token: `Authorization: Bearer <token>` "
                                 "(create one with `homeport token create NAME --scopes read`)", headers=CHALLENGE)
    ctx = context_of(request)
    secret = credentials.credentials
    if ctx.bearer is not None and len(secret) <= MAX_TOKEN and secret.isascii():
        identity = await ctx.bearer.verify(secret)
        principal = from_identity(identity, "bearer") if identity is not None else None
    else:
        principal = await anyio.to_thread.run_sync(lambda: verify_secret(ctx, secret))
    if principal is None:
        raise HTTPException(401, "the bearer token is unknown, revoked or expired", headers=CHALLENGE)
    return principal


def requires(scope: str) -> Callable[..., Principal]:
    """A dependency: the API caller, who must hold scope (403 naming it otherwise)."""

    def check(principal: Principal = Depends(api_principal)) -> Principal:
        if not principal.allows(scope):
            raise HTTPException(403, refusal(principal, scope))
        return principal

    return check


def scope_extra(scope: str) -> dict[str, Any]:
    """OpenAPI extension naming the scope a route needs (clients and the contract tests read it)."""
    return {"x-required-scope": scope}


class LoginRequired(Exception):
    """A page needs a logged-in browser; the handler redirects to /login."""


def browser_session(request: Request) -> BrowserSession | None:
    """The live session of this browser, if any."""
    return context_of(request).session_store.get(request.cookies.get(SESSION_COOKIE))


def page_principal(request: Request) -> Principal:
    """The person behind a page request: a live session whose token is still valid, else LoginRequired."""
    ctx = context_of(request)
    session = browser_session(request)
    if session is None:
        raise LoginRequired()
    principal = session.identity or verify_secret(ctx, session.secret, via="session")
    if principal is None:  # revoked or expired since login: the session ends with it
        ctx.session_store.end(session.id)
        raise LoginRequired()
    request.state.session = session
    request.state.principal = principal
    return principal


def page_requires(scope: str) -> Callable[..., Principal]:
    """A page dependency: the person, who must hold scope (403 page otherwise)."""

    def check(principal: Principal = Depends(page_principal)) -> Principal:
        if not principal.allows(scope):
            raise HTTPException(403, refusal(principal, scope))
        return principal

    return check


async def csrf_checked(request: Request) -> None:
    """Every page form (and htmx request) must echo the session's CSRF token; 403 otherwise."""
    session = browser_session(request)
    if session is None:
        raise LoginRequired()
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not same_secret(given, session.csrf):
        raise HTTPException(403, "the form's CSRF token is missing or stale: reload the page and try again")
