"""Assembling the MCP server (`homeport-mcp`): tools by toolset, SOP resources, prompts, stdio or HTTP."""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcp_server.caller import Caller, parse_local_scopes
from mcp_server.groups import DEFAULT_TOOLSETS, TOOLSETS

if TYPE_CHECKING:  # the stdio path imports neither the engine nor the HTTP stack before its handshake
    from mcp.server import MCPServer
    from starlette.applications import Starlette

    from mcp_server.app import HomeportApp
    from mcp_server.toolspec import ToolSpec


def select_tools(toolsets: tuple[str, ...]) -> list[ToolSpec[Any, Any]]:
    """The tools of the chosen toolsets."""
    from mcp_server.tools import ALL_TOOLS

    return [spec for spec in ALL_TOOLS if spec.toolset in toolsets]


def build_server(app: HomeportApp, *, toolsets: tuple[str, ...] = DEFAULT_TOOLSETS,
                 local_caller: Caller | None = None, http_auth: bool = False,
                 public_url: str = "http://127.0.0.1:8765") -> MCPServer[Any]:
    """The MCP server for a lab. local_caller is who stdio (and in-memory) calls act as."""
    from mcp.server import MCPServer
    from mcp_types import ListToolsResult

    from mcp_server.auth import current_caller, http_auth_for, install_http_auth
    from mcp_server.prompts import register_prompts
    from mcp_server.sop_resources import register_sop_resources
    from mcp_server.stdio import INSTRUCTIONS
    from mcp_server.toolspec import audit_call, build_tool

    local = local_caller or Caller(actor=f"local:{_user()}", scopes=frozenset({"read", "propose"}),
                                   owner=_user(), kind="agent")
    specs = select_tools(toolsets)
    tools = [build_tool(app, spec, local) for spec in specs]
    scope_of = {spec.name: spec.scope for spec in specs}
    kwargs: dict[str, Any] = {}
    auth = http_auth_for(app, public_url) if http_auth else None  # homeport tokens, then identity.oidc
    if auth is not None:
        kwargs["auth"], kwargs["token_verifier"] = auth.settings, auth.verifier
    @asynccontextmanager
    async def audits_written_at_end(_server: Any) -> AsyncIterator[dict[str, Any]]:
        """A connection's reads' audit rows (written a moment after each answer) are all in the log when it ends."""
        try:
            yield {}
        finally:
            app.flush_audits()

    server: MCPServer[Any] = MCPServer("homeport", title="homeport", instructions=INSTRUCTIONS,
                                       version="0.1.0", tools=tools, log_level="WARNING",
                                       lifespan=audits_written_at_end, **kwargs)
    if auth is not None:
        install_http_auth(server, auth, lambda caller, tool, message: audit_call(
            app, caller, tool, {}, "refused", {"error": message}, time.perf_counter()))

    async def only_allowed_tools(ctx: Any, call_next: Any) -> Any:
        """tools/list shows only the tools the caller's scopes allow (agents handle ~20 tools well)."""
        result = await call_next(ctx)
        if getattr(ctx, "method", None) != "tools/list":
            return result
        caller = current_caller(getattr(ctx, "request", None), local)
        if isinstance(result, ListToolsResult):
            result.tools = [t for t in result.tools if caller.allows(scope_of.get(t.name, "admin"))]
        elif isinstance(result, dict) and isinstance(result.get("tools"), list):
            result["tools"] = [t for t in result["tools"] if caller.allows(scope_of.get(t.get("name"), "admin"))]
        return result

    server.middleware.append(only_allowed_tools)
    register_sop_resources(server)
    register_prompts(server)
    return server


def http_app(server: MCPServer[Any], *, host: str, allowed_hosts: list[str]) -> Starlette:
    """The streamable HTTP ASGI app (bearer tokens required; DNS-rebinding protection on)."""
    from mcp.server.transport_security import TransportSecuritySettings

    from mcp_server.auth import protect_tools

    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*", *allowed_hosts]
    origins = [f"http://{h}" for h in hosts] + [f"https://{h}" for h in allowed_hosts]
    security = TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts,
                                         allowed_origins=origins)
    from reconciler.web.body_limit import BodyLimitMiddleware  # request bodies bounded before the SDK reads them

    app = protect_tools(server.streamable_http_app(transport_security=security, host=host, stateless_http=True,
                                                   json_response=True), server)
    app.add_middleware(BodyLimitMiddleware)
    return app


def _git_dir(path: Path) -> Path | None:
    """The .git of the repository holding path (a folder or a worktree's file), as `git` finds it; None if none."""
    here = path.resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder / ".git"
    return None


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return "unknown"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options of homeport-mcp."""
    parser = argparse.ArgumentParser(prog="homeport-mcp", description="homeport's MCP server for AI agents.")
    parser.add_argument("--lab", type=Path, default=Path("."), help="The lab's Git repository (default: .)")
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP: address to listen on")
    parser.add_argument("--port", type=int, default=8765, help="HTTP: port")
    parser.add_argument("--allowed-host", action="append", default=[],
                        help="HTTP: extra Host header value to accept, e.g. homeport.lan:8765 (repeatable)")
    parser.add_argument("--toolsets", default=",".join(DEFAULT_TOOLSETS),
                        help=f"Comma-separated subset of {','.join(TOOLSETS)} to expose (default: all but optimize)")
    parser.add_argument("--scopes", default="read,propose",
                        help="stdio: scopes of the local caller (default read,propose; agents never get approve)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `homeport-mcp` command."""
    args = parse_args(argv)
    toolsets = tuple(t.strip() for t in args.toolsets.split(",") if t.strip())
    unknown = [t for t in toolsets if t not in TOOLSETS]
    if unknown or not toolsets:
        sys.exit(f"homeport-mcp: unknown toolset(s) {', '.join(unknown) or '(none)'}; choose from "
                 f"{', '.join(TOOLSETS)}")
    try:
        scopes = parse_local_scopes(args.scopes)
    except ValueError as exc:
        sys.exit(f"homeport-mcp: {exc}")
    local = Caller(actor=f"local:{_user()}", scopes=scopes, owner=_user(), kind="agent")
    if args.transport == "stdio":
        if _git_dir(args.lab) is None:  # the common mistake, caught before the handshake (the rest: LabLoader)
            sys.exit(f"homeport-mcp: {args.lab} is not inside a Git repository; create a lab with "
                     f"`homeport init {args.lab}`")
        from mcp_server.handshake import serve

        serve(args.lab, toolsets=toolsets, local=local)
        return
    from mcp_server.app import HomeportApp

    try:
        app = HomeportApp(args.lab)
        app.state()
    except Exception as exc:  # startup errors are the user's to fix: one line, no traceback
        sys.exit(f"homeport-mcp: {exc}")
    import uvicorn

    try:
        url = f"http://{args.host}:{args.port}"
        # Over HTTP every request carries a token; a request without one never acts as the local user.
        nobody = Caller(actor="anonymous", scopes=frozenset(), kind="agent")
        server = build_server(app, toolsets=toolsets, local_caller=nobody, http_auth=True, public_url=url)
        uvicorn.run(http_app(server, host=args.host, allowed_hosts=args.allowed_host), host=args.host,
                    port=args.port, log_level="warning")
    finally:
        app.close()
