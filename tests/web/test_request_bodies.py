"""Request bodies are bounded on every door served over HTTP (REST API, web forms, MCP, webhook) before any
route, token check or SDK reads them: no request, authenticated or not, makes the process hold more than
`json_body_bytes`."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest

from reconciler.models.limits import InputLimits
from reconciler.web.body_limit import BodyLimitMiddleware
from tests.web.conftest import Server

LIMIT = InputLimits().json_body_bytes
CHUNK = 64 * 1024


def _chunks(total: int) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b"x" * CHUNK
        sent += CHUNK


def _problem(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == 413 and "json_body_bytes" in body["detail"]
    assert "HOMEPORT_LIMIT_JSON_BODY_BYTES" in body["detail"]
    return body


def test_a_declared_oversized_body_is_refused_unread(server: Server) -> None:
    """Headers only, claiming 100 MB: the answer comes at once, no token asked, nothing read."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(b"POST /api/v1/proposals HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100000000\r\n\r\n")
        received = b""
        while not received.endswith(b"}"):  # the problem document ends the answer; the server then closes
            more = sock.recv(65536)
            if not more:
                break
            received += more
        answer = received.decode()
    head, _, body = answer.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 413"), head
    assert "a request body of 100,000,000 bytes" in body


@pytest.mark.parametrize("path", ["/api/v1/proposals", "/mcp", "/login"])
def test_an_undeclared_oversized_body_stops_at_the_limit(server: Server, path: str) -> None:
    """A chunked body of 3 x the limit, without a token: 413 naming the limit, on the API, MCP and a form."""
    with server.client() as client:
        response = client.post(path, content=_chunks(3 * LIMIT), headers={"content-type": "application/json"})
    body = _problem(response)
    assert body["instance"] == path


def test_a_body_under_the_limit_still_reaches_the_route(server: Server) -> None:
    """Bounded, not blocked: an ordinary request passes the middleware whole (here, a proposal refused for
    its content by the route itself, with the agent's token)."""
    with server.client(server.tokens.agent) as client:
        response = client.post("/api/v1/proposals", json={"title": "x" * 10, "files": {}})
    assert response.status_code in (400, 422), response.text  # the route's own verdict, not 413


def test_the_middleware_pulls_no_more_than_the_limit() -> None:
    """Fed an endless body, the middleware stops reading one chunk past the limit and answers 413."""
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def endless() -> dict[str, Any]:
        nonlocal pulled
        pulled += CHUNK
        return {"type": "http.request", "body": b"x" * CHUNK, "more_body": True}

    async def send(message: Any) -> None:
        sent.append(message)

    async def never(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the app must not run")

    middleware = BodyLimitMiddleware(never, InputLimits(json_body_bytes=1_000_000))
    scope = {"type": "http", "method": "POST", "path": "/api/v1/proposals", "headers": []}
    anyio.run(middleware, scope, endless, send)
    assert pulled <= 1_000_000 + CHUNK
    assert sent[0]["status"] == 413
    assert "json_body_bytes = 1,000,000" in json.loads(sent[1]["body"])["detail"]


def test_the_standalone_mcp_http_server_is_bounded_too() -> None:
    """`homeport-mcp --transport http` (without the web door) refuses an oversized body the same way."""
    from mcp.server import MCPServer

    from mcp_server.server import http_app

    app = http_app(MCPServer("bounded"), host="127.0.0.1", allowed_hosts=[])

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8765") as client:
            return await client.post("/mcp", content=b"x" * (LIMIT + 1), headers={"content-type": "application/json"})

    _problem(anyio.run(go))
