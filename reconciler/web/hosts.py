"""Host-header check (DNS-rebinding protection, as for MCP) and security headers on every answer."""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reconciler.web.settings import WebSettings

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


class HostCheckMiddleware:
    """Answers 421 to a Host header this server does not serve; adds security headers to every answer."""

    def __init__(self, app: ASGIApp, settings: WebSettings, *, csp_skip: tuple[str, ...] = ("/mcp",),
                 exempt: tuple[str, ...] = ("/webhook", "/healthz", "/metrics")) -> None:
        self.app = app
        self.settings = settings
        self.csp_skip = csp_skip
        # Forges post webhooks and monitors scrape with the daemon's LAN name; those routes carry no session
        # or token a rebinding page could use (webhooks are HMAC-signed), so they answer any Host.
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = Headers(scope=scope).get("host", "")
        path = scope.get("path", "")
        if path not in self.exempt and not self.settings.host_allowed(host):
            response = PlainTextResponse(f"Host {host!r} is not served here; add it with --allowed-host", 421)
            await response(scope, receive, send)
            return
        html_page = not path.startswith(self.csp_skip)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for key, value in SECURITY_HEADERS.items():
                    headers.setdefault(key, value)
                if html_page:
                    headers.setdefault("content-security-policy", CSP)
            await send(message)

        await self.app(scope, receive, with_headers)
