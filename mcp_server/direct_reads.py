"""Read-only tool calls over stdio, answered beside the SDK's per-request pipeline (issue 21: MCP reads).

Over stdio a `tools/call` goes through the SDK's JSON-RPC dispatcher, server runner, middleware chain and
OpenTelemetry span before homeport's tool runs, and back through them after: 1.0-1.4 ms of a 5-9 ms
`discover-proxmox-resources` on the bench machine, more than what it costs the fastest peer to answer. A
read's answer depends on none of it, so the wire's reader (mcp_server/handshake.py, WireInput) hands a
`tools/call` of a read-only tool here, and:

- the tool runs through the SDK's own `MCPServer.call_tool`: the same Tool object, argument handling, error
  text (`Error executing tool ...`) and `isError` result as `MCPServer` gives;
- the result is shaped as the SDK's runner shapes every result: the protocol version's result surface
  (`mcp_types` `serialize_server_result`), `resultType` and the `serverInfo` stamp on 2026-era results;
- the answer goes out on the same wire, whole lines only (WireOutput serialises writers);
- `notifications/cancelled` for a call in flight here drops its answer, as the SDK does.

Everything else stays with the SDK: other methods and tools, a request before the handshake completed, a
protocol version the SDK does not know, params the SDK's request surface refuses, a request id already in
flight, tools/call cache hints. tests/mcp/test_direct_reads.py compares these answers with the SDK's own for
every protocol version. `HOMEPORT_MCP_DIRECT_READS=0` leaves every call to the SDK.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server import MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, CallToolResult, TextContent
from mcp_types import methods as surface
from mcp_types._types import SERVER_INFO_META_KEY
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError
from pydantic_core import to_json

from mcp_server.caller import direct_client

log = logging.getLogger(__name__)
PROTOCOL_META = "io.modelcontextprotocol/protocolVersion"
CLIENT_META = "io.modelcontextprotocol/clientInfo"


def enabled() -> bool:
    """False when HOMEPORT_MCP_DIRECT_READS=0 (every call then goes through the SDK)."""
    return os.environ.get("HOMEPORT_MCP_DIRECT_READS", "1").strip().lower() not in ("0", "false", "no", "off")


def _request_id(message: dict[str, Any]) -> int | str | None:
    value = message.get("id")
    return None if isinstance(value, bool) or not isinstance(value, int | str) else value


class DirectReads:
    """Takes read-only `tools/call` requests off the wire and answers them (see the module's docstring)."""

    def __init__(self, server: MCPServer[Any], tools: set[str], write: Callable[[bytes], Awaitable[int]]) -> None:
        self.server = server
        self.tools = set(tools) if "tools/call" not in server._lowlevel_server.cache_hints else set()
        self.write = write
        self.version: str | None = None  # the handshake's protocol version, once the client confirmed it
        self._asked: str | None = None
        self._client: str | None = None
        self._inflight: dict[int | str, asyncio.Task[None]] = {}

    def take(self, line: str) -> bool:
        """True when this line is a read this module answers (the SDK never sees it); False to pass it on."""
        if '"tools/call"' not in line and '"initialize' not in line and '"notifications/' not in line:
            return False
        try:
            message = json.loads(line)
            if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
                return False
            method, params = message.get("method"), message.get("params")
            if method == "tools/call" and isinstance(params, dict):
                return self._call(message, params)
            self._follow(method, params, message)
        except Exception:  # whatever the line holds, the SDK reads it and answers as it does
            log.debug("left to the SDK: a line direct reads could not follow", exc_info=True)
        return False

    def _follow(self, method: Any, params: Any, message: dict[str, Any]) -> None:
        """Track the handshake (its protocol version, the client's name) and cancellations."""
        if method == "initialize" and isinstance(params, dict) and "id" in message:
            asked, client = params.get("protocolVersion"), params.get("clientInfo")
            self._asked = None
            if asked in HANDSHAKE_PROTOCOL_VERSIONS:
                try:  # an initialize the SDK refuses opens no session here either
                    surface.validate_client_request("initialize", str(asked), params)
                    self._asked = str(asked)
                except (ValidationError, KeyError, ValueError):
                    pass
            self._client = client.get("name") if isinstance(client, dict) else None
        elif method == "notifications/initialized":
            self.version = self._asked
        elif method == "notifications/cancelled" and isinstance(params, dict):
            request_id = params.get("requestId")
            task = self._inflight.pop(request_id, None) if isinstance(request_id, int | str) else None
            if task is not None:
                task.cancel()

    def _call(self, message: dict[str, Any], params: dict[str, Any]) -> bool:
        request_id, name = _request_id(message), params.get("name")
        arguments = params.get("arguments", {})
        if request_id is None or name not in self.tools or request_id in self._inflight:
            return False
        if not isinstance(arguments, dict):
            return False
        meta = params.get("_meta")
        modern = meta.get(PROTOCOL_META) if isinstance(meta, dict) else None
        if modern is not None:
            if modern not in MODERN_PROTOCOL_VERSIONS or self.version is not None:
                return False
            version, client_info = str(modern), meta.get(CLIENT_META) if isinstance(meta, dict) else None
            client = client_info.get("name") if isinstance(client_info, dict) else None
        elif self.version is not None:
            version, client = self.version, self._client
        else:
            return False
        try:
            surface.validate_client_request("tools/call", version, params)
        except (ValidationError, KeyError, ValueError):
            return False  # the SDK answers with its own error
        task = asyncio.get_running_loop().create_task(self._answer(request_id, str(name), arguments, version, client))
        self._inflight[request_id] = task
        task.add_done_callback(lambda done: self._done(request_id, done))
        return True

    def _done(self, request_id: int | str, task: asyncio.Task[None]) -> None:
        if self._inflight.get(request_id) is task:  # a cancelled call's id may already name a newer call
            del self._inflight[request_id]

    async def _answer(self, request_id: int | str, name: str, arguments: dict[str, Any], version: str,
                      client: str | None) -> None:
        direct_client.set(client)
        try:
            result = await self.server.call_tool(name, arguments)
            response: dict[str, Any] = {"result": self.shape(version, result)}
        except MCPError as exc:
            response = {"error": exc.error.model_dump(by_alias=True, mode="json", exclude_none=True)}
        except ValidationError:
            log.exception("tool %r returned an invalid result", name)
            response = {"error": {"code": INTERNAL_ERROR, "message": "Handler returned an invalid result"}}
        except Exception as exc:  # as MCPServer answers a failed tool: its message, as an error result
            error = CallToolResult(content=[TextContent(type="text", text=str(exc))], is_error=True)
            response = {"result": self.shape(version, error)}
        line = to_json({"jsonrpc": "2.0", "id": request_id, **response}) + b"\n"
        with contextlib.suppress(OSError):  # the client went away
            await self.write(line)

    def shape(self, version: str, result: Any) -> dict[str, Any]:
        """result as the SDK's runner puts it on the wire for version (its _serialize for tools/call)."""
        dumped = result.model_dump(by_alias=True, mode="json", exclude_none=True)
        dumped = surface.serialize_server_result("tools/call", version, dumped)
        if version in MODERN_PROTOCOL_VERSIONS:
            if dumped.get("resultType") is None:
                dumped["resultType"] = "complete"
            meta = dumped.get("_meta")
            stamp = self.server._lowlevel_server.server_info_stamp
            if meta is None:
                dumped["_meta"] = {SERVER_INFO_META_KEY: stamp}
            elif isinstance(meta, dict) and meta.get(SERVER_INFO_META_KEY) is None:
                dumped["_meta"] = {**meta, SERVER_INFO_META_KEY: stamp}
        return dumped

    async def drain(self) -> None:
        """Wait for the calls still in flight (stdin closed while they ran)."""
        pending = list(self._inflight.values())
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
