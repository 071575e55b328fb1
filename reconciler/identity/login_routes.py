"""The Starlette routes of the browser login: GET /login/oidc sends the browser to the provider, the callback returns.

The door that mounts them supplies `on_login`, which turns the verified Principal into its own session (cookie).
"""

from __future__ import annotations

import hmac
import html
import logging
import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from reconciler.identity.errors import IdentityError, LoginFailed
from reconciler.identity.login import LoginStore, begin_login, complete_login
from reconciler.identity.principal import Principal
from reconciler.identity.verifier import OidcVerifier

log = logging.getLogger("homeport.identity")

LOGIN_PATH = "/login/oidc"
CALLBACK_PATH = "/login/oidc/callback"
STATE_COOKIE = "homeport_oidc_login"

OnLogin = Callable[[Request, Principal, str], Awaitable[Response]]


def failure_page(message: str, status: int = 400) -> HTMLResponse:
    """A small page saying why the login failed (escaped; never a token)."""
    body = (f"<!doctype html><html lang=en><meta charset=utf-8><title>Login failed - homeport</title>"
            f"<main><h1>Login failed</h1><p>{html.escape(message)}</p><p><a href=\"{LOGIN_PATH}\">Try again</a>"
            "</p></main></html>")
    return HTMLResponse(body, status_code=status, headers={"cache-control": "no-store"})


def login_routes(verifier: Callable[[], OidcVerifier | None], on_login: OnLogin, *, public_url: str | None = None,
                 store: LoginStore | None = None,
                 on_failure: Callable[[str, int], Response] | None = None) -> list[Route]:
    """Routes for the OIDC login; `verifier()` is None when the lab configures no provider (the routes answer 404)."""
    pending_logins = store or LoginStore()
    fail = on_failure or failure_page

    def callback_url(request: Request) -> str:
        base = public_url.rstrip("/") if public_url else str(request.base_url).rstrip("/")
        return base + CALLBACK_PATH

    async def start(request: Request) -> Response:
        oidc = verifier()
        if oidc is None or not oidc.config.client_id:
            return fail("This lab has no identity provider for web login (identity.oidc.client_id in homeport.yaml).",
                        404)
        try:
            meta = await oidc.metadata()
        except IdentityError as exc:
            return fail(f"The identity provider cannot be reached: {exc}", 503)
        if not meta.authorization_endpoint:
            return fail("The identity provider publishes no authorization endpoint.", 503)
        url, pending = begin_login(meta.authorization_endpoint, client_id=oidc.config.client_id,
                                   scopes=oidc.config.login_scopes, redirect_uri=callback_url(request),
                                   next_path=request.query_params.get("next"), now=time.monotonic())
        pending_logins.add(pending)
        response = RedirectResponse(url, status_code=303, headers={"cache-control": "no-store"})
        # Lax, not Strict: the provider's redirect back is a cross-site navigation that must carry it.
        response.set_cookie(STATE_COOKIE, pending.state, max_age=600, path=LOGIN_PATH, httponly=True,
                            samesite="lax", secure=pending.redirect_uri.startswith("https://"))
        return response

    async def callback(request: Request) -> Response:
        oidc = verifier()
        if oidc is None:
            return fail("This lab has no identity provider for web login.", 404)
        params = request.query_params
        if "error" in params:
            return fail(f"The identity provider refused the login: {params.get('error')} "
                        f"{params.get('error_description', '')}".strip(), 403)
        state, code = params.get("state", ""), params.get("code", "")
        cookie = request.cookies.get(STATE_COOKIE, "")
        if not state or not code or not cookie or not hmac.compare_digest(state, cookie):
            return fail("This login did not start in this browser (state mismatch); start again.", 400)
        pending = pending_logins.take(state)
        if pending is None:
            return fail("This login is unknown or older than ten minutes; start again.", 400)
        try:
            principal = await complete_login(oidc, pending, code)
        except LoginFailed as exc:
            log.info("OIDC login refused: %s", exc)
            return fail(str(exc), 403)
        response = await on_login(request, principal, pending.next_path)
        response.delete_cookie(STATE_COOKIE, path=LOGIN_PATH)
        return response

    return [Route(LOGIN_PATH, start, methods=["GET"]), Route(CALLBACK_PATH, callback, methods=["GET"])]
