"""ETags on reads: a weak ETag from the body's hash, `304 Not Modified` on a matching If-None-Match."""

from __future__ import annotations

import hashlib

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def etag_of(body: bytes) -> str:
    """The weak ETag of a response body."""
    return 'W/"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names this ETag (weak comparison, RFC 9110 13.1.2)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == bare for tag in if_none_match.split(","))


class ETagMiddleware:
    """Adds ETags to successful GET answers under `prefix` (streams excepted) and answers revalidation with 304."""

    def __init__(self, app: ASGIApp, *, prefix: str, skip: tuple[str, ...] = ()) -> None:
        self.app = app
        self.prefix = prefix
        self.skip = skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        if (scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD") or not path.startswith(self.prefix)
                or path.startswith(self.skip)):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                assert start is not None
                await self._finish(scope, start, b"".join(chunks), send)

        await self.app(scope, receive, capture)

    async def _finish(self, scope: Scope, start: Message, body: bytes, send: Send) -> None:
        headers = MutableHeaders(raw=list(start.get("headers", [])))
        if start["status"] != 200 or "etag" in headers:
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return
        etag = etag_of(body)
        headers["etag"] = etag
        headers["cache-control"] = "private, no-cache"
        if etag_matches(Headers(scope=scope).get("if-none-match"), etag):
            kept = [(k, v) for k, v in headers.raw if k.lower() not in (b"content-length", b"content-type")]
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({**start, "headers": headers.raw})
        await send({"type": "http.response.body", "body": body})
