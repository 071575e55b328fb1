"""The daemon's HTTP endpoint (Starlette): POST /webhook, GET /healthz, GET /metrics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.daemon.webhook import PushEvent, ReplayGuard, WebhookRefused, read_body, verify_push


@dataclass
class HttpHooks:
    """What the endpoint calls into: the daemon supplies these."""

    secret: Callable[[], bytes | None]
    on_push: Callable[[PushEvent], str]  # returns "queued" or "ignored: why"
    on_refused: Callable[[str, str], None]  # (reason, client address)
    health: Callable[[], dict[str, Any]]
    metrics: Callable[[], bytes]


def build_app(hooks: HttpHooks) -> Starlette:
    """The ASGI app."""

    replays = ReplayGuard()

    async def webhook(request: Request) -> Response:
        client = request.client.host if request.client else "?"
        try:  # size before reading, signature, depth and replay: nothing is trusted before all four pass
            body = await read_body(request.headers, request.stream())
            try:
                secret = hooks.secret()
            except ValueError as exc:  # e.g. HOMEPORT_WEBHOOK_SECRET_FILE unreadable
                raise WebhookRefused(f"webhooks are off: {exc}", 503) from None
            event = verify_push(request.headers, body, secret)
            replays.check(event)
        except WebhookRefused as exc:
            hooks.on_refused(str(exc), client)
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        if event.event == "ping":
            return JSONResponse({"status": "pong"})
        outcome = hooks.on_push(event)
        return JSONResponse({"status": outcome}, status_code=202 if outcome == "queued" else 200)

    async def healthz(request: Request) -> Response:
        data = hooks.health()
        return JSONResponse(data, status_code=200 if data.get("ok") else 503)

    async def metrics(request: Request) -> Response:
        return Response(hooks.metrics(), media_type="text/plain; version=0.0.4; charset=utf-8")

    return Starlette(routes=[Route("/webhook", webhook, methods=["POST"]), Route("/healthz", healthz),
                             Route("/metrics", metrics)])
