"""Logging in through the lab's identity provider (identity.oidc): /login/oidc, its callback, then a session.

The flow itself (PKCE, state, nonce, code exchange, ID token checks) is `reconciler.service.identity`'s; this
module turns the verified person into the same HttpOnly, SameSite=Strict session cookie a token login gets.
"""

from __future__ import annotations

import html

import anyio
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute

from reconciler.service import commands
from reconciler.service.identity import OidcVerifier, login_routes
from reconciler.service.identity import Principal as IdentityPrincipal
from reconciler.web.auth import from_identity
from reconciler.web.context import WebContext
from reconciler.web.sessions import SESSION_COOKIE


def oidc_enabled(ctx: WebContext) -> bool:
    """Whether the login page offers the identity provider (identity.oidc with a client_id)."""
    return ctx.bearer is not None and ctx.bearer.oidc is not None and bool(ctx.bearer.oidc.config.client_id)


def oidc_login_routes(ctx: WebContext) -> list[BaseRoute]:
    """GET /login/oidc and GET /login/oidc/callback for the served lab (404 when no provider is configured)."""

    def verifier() -> OidcVerifier | None:
        return ctx.bearer.oidc if ctx.bearer is not None else None

    async def on_login(request: Request, identity: IdentityPrincipal, next_path: str) -> Response:
        principal = from_identity(identity, "session")
        session = ctx.session_store.create("", identity=principal)
        await anyio.to_thread.run_sync(lambda: ctx.call(lambda: commands.record_audit(
            ctx.lab, entity_type="session", entity_id=identity.subject, action="web-login", actor=principal.actor,
            actor_kind="human", tool="web", arguments={"via": "oidc", "issuer": identity.issuer})))
        # A page rather than a redirect: the browser arrived here through the provider's cross-site redirect,
        # after which it withholds SameSite=Strict cookies; the page's own navigation to `next` is same-site.
        target = html.escape(next_path, quote=True)
        body = (f"<!doctype html><html lang=en><meta charset=utf-8><meta http-equiv=refresh content=\"0;url={target}\">"
                f"<title>Logged in - homeport</title><main><p>Logged in as {html.escape(principal.owner)}. "
                f"<a href=\"{target}\">Continue</a></p></main></html>")
        response = HTMLResponse(body, headers={"cache-control": "no-store"})
        response.set_cookie(SESSION_COOKIE, session.id, httponly=True, samesite="strict", path="/",
                            secure=ctx.settings.secure_cookies)
        return response

    public_url = ctx.bearer.base_url if ctx.bearer is not None else None
    return list(login_routes(verifier, on_login, public_url=public_url))
