"""`homeport-mcp` over stdio: the server built from the committed catalog, the engine loaded after the handshake.

The server is the SDK's MCPServer with the tools of the committed catalog (mcp_server/catalog.py). Once the
client's `initialize` is answered, a thread imports the engine, opens the lab and loads main's desired state;
a tool call waits for that load, then runs the real tool (tool_call in toolspec.py). A lab that cannot be
opened makes every tool call answer with the reason, and homeport-mcp print it on stderr and exit 1 when the
client closes stdin (at once when stdin closes before any request). Only the SDK, the catalog and the SOP and
prompt registrations are imported before the handshake, and homeport-mcp imports even those while it answers
`initialize` from the catalog's record (mcp_server/handshake.py).
"""

from __future__ import annotations

import io
import json
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.stdio import stdio_server
from mcp_types import CallToolResult, ListToolsResult

from mcp_server import catalog
from mcp_server.caller import Caller
from mcp_server.prompts import register_prompts
from mcp_server.sop_resources import register_sop_resources

INSTRUCTIONS = """homeport manages a homelab from desired-state YAML in Git. You read the lab and get advice
freely; every change you make becomes a proposal (a Git branch with one commit and a plan preview) that a
person reviews and merges. Typical flow: discover-infrastructure-context -> analyze-resource-requirements ->
find-optimal-placement -> deploy-with-intelligence (dry_run first) -> get-proposal -> tell the person the
proposal id. Nothing changes live infrastructure until a person approves."""


class LabLoader:
    """Opens the lab and builds the real tools once, in a thread of its own; tool calls wait for it."""

    def __init__(self, lab: Path, local: Caller, names: list[str]) -> None:
        self.lab = lab
        self.local = local
        self.names = set(names)
        self.read_only: set[str] = set()  # the tools mcp_server/direct_reads.py may answer
        self.error: str | None = None
        self.app: Any = None
        self._calls: dict[str, catalog.ToolCall] = {}
        self._done = threading.Event()
        self._started = False
        self._lock = threading.Lock()

    def start(self) -> None:
        """Begin loading (once)."""
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._load, name="homeport-lab-load", daemon=True).start()

    def _load(self) -> None:
        try:
            from mcp_server.app import HomeportApp
            from mcp_server.tools import ALL_TOOLS
            from mcp_server.toolspec import tool_call

            app = HomeportApp(self.lab)
            self.app = app
            app.state()
            self._calls = {spec.name: tool_call(app, spec, self.local) for spec in ALL_TOOLS if spec.name in self.names}
        except Exception as exc:  # startup errors are the user's to fix: one line, no traceback
            self.error = f"homeport-mcp: {exc}"
        finally:
            self._done.set()

    def wait_sync(self) -> None:
        """Load now if nothing started it, and wait until it is done."""
        self.start()
        self._done.wait()

    async def wait(self) -> None:
        """Wait for the load without blocking the event loop."""
        if not self._done.is_set():
            await anyio.to_thread.run_sync(self.wait_sync)

    def call_for(self, name: str) -> catalog.ToolCall:
        """The function the SDK calls for tool name: the real tool once the lab is open."""

        async def call(arguments: dict[str, Any], ctx: Context) -> CallToolResult:
            await self.wait()
            if self.error is not None:
                raise ToolError(self.error)
            return await self._calls[name](arguments, ctx)

        return call

    def close(self) -> None:
        """Close the lab (its pending audit rows are written first)."""
        if self.app is not None:
            self.app.close()


def build_stdio_server(lab: Path, *, toolsets: tuple[str, ...], local: Caller,
                       load_on_initialize: bool = True) -> tuple[MCPServer[Any], LabLoader]:
    """The stdio server and its loader: tools from the catalog, SOP resources and prompts, no engine import.
    load_on_initialize=False leaves the lab alone after the handshake (the catalog records the handshake)."""
    entries = catalog.load(toolsets)
    loader = LabLoader(lab, local, [e["name"] for e in entries])
    loader.read_only = {e["name"] for e in entries if (e.get("annotations") or {}).get("readOnlyHint") is True}
    tools = [catalog.sdk_tool(e, loader.call_for(e["name"])) for e in entries]
    server: MCPServer[Any] = MCPServer("homeport", title="homeport", instructions=INSTRUCTIONS, version="0.1.0",
                                       tools=tools, log_level="WARNING")
    scope_of = {e["name"]: e["scope"] for e in entries}

    async def start_loading_after_handshake(ctx: Any, call_next: Any) -> Any:
        """Answer initialize first, then start the lab's load; tools/list shows what the local scopes allow."""
        result = await call_next(ctx)
        method = getattr(ctx, "method", None)
        if method == "initialize" and load_on_initialize:
            loader.start()
        elif method == "tools/list":
            allowed: Callable[[str | None], bool] = lambda name: local.allows(scope_of.get(name or "", "admin"))  # noqa: E731
            if isinstance(result, ListToolsResult):
                result.tools = [t for t in result.tools if allowed(t.name)]
            elif isinstance(result, dict) and isinstance(result.get("tools"), list):
                result["tools"] = [t for t in result["tools"] if allowed(t.get("name"))]
        return result

    server.middleware.append(start_loading_after_handshake)
    register_sop_resources(server)
    register_prompts(server)
    return server, loader


async def _serve_streams(server: MCPServer[Any], stdin: Any, stdout: Any, read_only: set[str] | None = None) -> None:
    """Serve one connection over async text streams (lines by `async for`; `write`, `flush`) until stdin ends;
    with read_only and a stdin that can divert lines (handshake.WireInput), those tools' calls are answered
    beside the SDK (mcp_server/direct_reads.py)."""
    lowlevel = server._lowlevel_server
    direct = None
    if read_only and hasattr(stdin, "divert"):
        from mcp_server.direct_reads import DirectReads, enabled

        if enabled():
            direct = DirectReads(server, read_only, stdout.write)
            stdin.divert = direct.take
    async with stdio_server(stdin, stdout) as (read, write):
        await lowlevel.run(read, write, lowlevel.create_initialization_options())
    if direct is not None:
        await direct.drain()


def serve_connection(server: MCPServer[Any], loader: LabLoader, stdin: Any, stdout: Any) -> None:
    """Serve the client on async stdin/stdout streams (mcp_server/handshake.py claims the wire); exit 1 with the
    reason when the lab could not be opened."""
    try:
        anyio.run(_serve_streams, server, stdin, stdout, loader.read_only)
        loader.wait_sync()  # a client that closed stdin before any request still learns of a broken lab
    finally:
        loader.close()
    if loader.error is not None:
        sys.exit(loader.error)


def answers(server: MCPServer[Any], requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the server writes to a client that sends requests and closes stdin (the catalog's handshake record)."""
    stdin = io.StringIO("".join(json.dumps(r) + "\n" for r in requests))
    stdout = io.StringIO()
    anyio.run(_serve_streams, server, anyio.wrap_file(stdin), anyio.wrap_file(stdout))
    return [json.loads(line) for line in stdout.getvalue().splitlines()]
