"""The daemon's HTTP endpoint (Starlette): POST /webhook, GET /healthz, GET /metrics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.daemon.webhook import PushEvent, WebhookRefused, verify_push

MAX_BODY = 5 * 1024 * 1024


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

    async def webhook(request: Request) -> Response:
        client = request.client.host if request.client else "?"
        body = await request.body()
        if len(body) > MAX_BODY:
            hooks.on_refused("body larger than 5 MiB", client)
            return JSONResponse({"error": "body too large"}, status_code=413)
        try:
            event = verify_push(request.headers, body, hooks.secret())
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
