"""Request bodies are bounded before any route reads them: a declared Content-Length over `json_body_bytes` is
refused unread, and a body that grows past it while arriving (chunked, or lying about its length) is refused as
soon as it does, so no request, authenticated or not, can make the process hold more than the limit."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reconciler.models.limits import InputLimits, LimitExceeded, current_limits

PROBLEM_TYPE = "https://homeport.invalid/problems/invalid"  # the web door's problem type for code `invalid`


def problem(status: int, detail: str, instance: str | None) -> JSONResponse:
    """An RFC 9457 problem+json answer (Starlette only: the MCP HTTP server uses this without FastAPI)."""
    title = {400: "Bad request", 413: "Request too large"}[status]
    body = {"type": PROBLEM_TYPE, "title": title, "status": status, "detail": detail, "instance": instance,
            "code": "invalid"}
    return JSONResponse(body, status_code=status, media_type="application/problem+json",
                        headers={"connection": "close"})


class BodyLimitMiddleware:
    """Reads each request body whole, up to the limit, then hands it to the app; 413 problem+json past it."""

    def __init__(self, app: ASGIApp, limits: InputLimits | None = None) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = (self.limits or current_limits()).json_body_bytes
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and not declared.strip().isdigit():
            await problem(400, "malformed Content-Length", scope.get("path"))(scope, receive, send)
            return
        if declared is not None and int(declared) > limit:
            exceeded = LimitExceeded("json_body_bytes", limit, f"a request body of {int(declared):,} bytes")
            await self._refuse(scope, receive, send, exceeded)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client went away: nothing to answer
            body = message.get("body", b"")
            size += len(body)
            if size > limit:
                exceeded = LimitExceeded("json_body_bytes", limit, "a request body larger than that")
                await self._refuse(scope, receive, send, exceeded)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        whole = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": whole, "more_body": False}
            return await receive()  # after the body: wait for the disconnect as the server would report it

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, exceeded: LimitExceeded) -> None:
        await problem(413, str(exceeded), scope.get("path"))(scope, receive, send)
