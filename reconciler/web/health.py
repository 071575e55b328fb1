"""/healthz and /metrics for `homeport serve` (the daemon serves its own, with run metrics)."""

from __future__ import annotations

import anyio
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from reconciler.service import browse
from reconciler.service.errors import ServiceError
from reconciler.web.context import WebContext


def health_routes(ctx: WebContext) -> list[BaseRoute]:
    """GET /healthz (the lab's main loads; last run) and GET /metrics (process metrics, Prometheus text)."""

    def check() -> dict[str, object]:
        try:
            name = ctx.call(lambda: ctx.lab.lab_name)
            last = ctx.call(lambda: browse.latest_finished_run(ctx.lab))
        except ServiceError as exc:
            return {"ok": False, "error": exc.message}
        return {"ok": True, "lab": name, "last_run": last.status if last else None, "scheduler": False}

    async def healthz(request: Request) -> Response:
        data = await anyio.to_thread.run_sync(check)
        return JSONResponse(data, status_code=200 if data["ok"] else 503)

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return [Route("/healthz", healthz), Route("/metrics", metrics)]
